import { Type, type Static, type TSchema } from '@sinclair/typebox';

// One typed source for the coder.com/v1alpha1 custom resources: the TypeScript types the
// controller uses, the CRDs in config/crd and the reference in docs/crd-reference.md are
// all generated from these schemas (hack/gen-crds.ts; `make verify` fails on drift).

const d = (description: string) => ({ description });

/** A Kubernetes core type embedded as-is (EnvVar, Volume, Affinity, ...): validated by the API server that uses it. */
const Passthrough = (description: string): TSchema =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description });
const PassthroughList = (description: string): TSchema =>
  Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), d(description));
const StringMap = (description: string) => Type.Record(Type.String(), Type.String(), d(description));

export const SecretKeyRef = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Secret name, in the control plane namespace.' }),
    key: Type.Optional(Type.String({ description: 'Key in the Secret.' })),
  },
  d('A key of a Secret in the same namespace.'),
);

const ProbeSpec = (enabledByDefault: boolean) =>
  Type.Object(
    {
      enabled: Type.Optional(Type.Boolean({ default: enabledByDefault, description: 'Whether the probe is configured.' })),
      initialDelaySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
      periodSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
      timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
      failureThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    {
      description: `HTTP GET /healthz probe on the http port (${enabledByDefault ? 'enabled' : 'disabled'} by default).`,
      default: {},
    },
  );

export const CoderControlPlaneSpec = Type.Object(
  {
    image: Type.Optional(Type.String({ default: 'ghcr.io/coder/coder:latest', description: 'coderd container image.' })),
    replicas: Type.Optional(Type.Integer({ minimum: 0, default: 1, format: 'int32', description: 'coderd replicas.' })),
    service: Type.Optional(
      Type.Object(
        {
          type: Type.Optional(
            Type.Union([Type.Literal('ClusterIP'), Type.Literal('NodePort'), Type.Literal('LoadBalancer')], {
              default: 'ClusterIP',
              description: 'Service type.',
            }),
          ),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 80, description: 'Service port.' })),
          annotations: Type.Optional(StringMap('Service annotations.')),
        },
        { description: 'The Service in front of coderd.', default: {} },
      ),
    ),
    extraArgs: Type.Optional(Type.Array(Type.String(), d('Extra coderd arguments, after --http-address=0.0.0.0:8080.'))),
    extraEnv: Type.Optional(PassthroughList('Extra environment variables (core/v1 EnvVar). CODER_ACCESS_URL set here wins.')),
    envFrom: Type.Optional(PassthroughList('Environment from ConfigMaps or Secrets (core/v1 EnvFromSource).')),
    imagePullSecrets: Type.Optional(Type.Array(Type.Object({ name: Type.String() }), d('Image pull secrets.'))),
    serviceAccount: Type.Optional(
      Type.Object(
        {
          disableCreate: Type.Optional(Type.Boolean({ description: 'Use an existing ServiceAccount instead of creating one.' })),
          name: Type.Optional(Type.String({ description: 'ServiceAccount name (default: the control plane name).' })),
          annotations: Type.Optional(StringMap('ServiceAccount annotations (e.g. cloud IAM bindings).')),
          labels: Type.Optional(StringMap('ServiceAccount labels.')),
        },
        d('The ServiceAccount coderd runs as.'),
      ),
    ),
    rbac: Type.Optional(
      Type.Object(
        {
          workspacePerms: Type.Optional(Type.Boolean({ default: true, description: 'Grant coderd rights to manage workspace Pods and PVCs.' })),
          enableDeployments: Type.Optional(Type.Boolean({ default: true, description: 'Also grant rights on Deployments.' })),
          extraRules: Type.Optional(PassthroughList('Extra rbac/v1 PolicyRules for workspace namespaces.')),
          workspaceNamespaces: Type.Optional(
            Type.Array(Type.String(), d('Other namespaces workspaces run in; they get the same Role and RoleBinding (removed by a finalizer).')),
          ),
        },
        { description: 'Rights coderd gets to provision workspaces.', default: {} },
      ),
    ),
    resources: Type.Optional(Passthrough('coderd container resources (core/v1 ResourceRequirements).')),
    securityContext: Type.Optional(Passthrough('coderd container security context.')),
    podSecurityContext: Type.Optional(Passthrough('Pod security context.')),
    tls: Type.Optional(
      Type.Object({ secretNames: Type.Optional(Type.Array(Type.String(), d('TLS Secrets coderd serves with.'))) }, d('TLS for coderd.')),
    ),
    readinessProbe: Type.Optional(ProbeSpec(true)),
    livenessProbe: Type.Optional(ProbeSpec(false)),
    envUseClusterAccessURL: Type.Optional(
      Type.Boolean({ default: true, description: 'Default CODER_ACCESS_URL to the in-cluster Service URL unless set in extraEnv.' }),
    ),
    expose: Type.Optional(
      Type.Object(
        {
          ingress: Type.Optional(
            Type.Object(
              {
                host: Type.String({ minLength: 1, description: 'Host name.' }),
                className: Type.Optional(Type.String({ description: 'IngressClass name.' })),
                annotations: Type.Optional(StringMap('Ingress annotations.')),
                tlsSecretName: Type.Optional(Type.String({ description: 'TLS Secret for the host.' })),
              },
              d('Expose coderd through an Ingress.'),
            ),
          ),
          gateway: Type.Optional(
            Type.Object(
              {
                host: Type.String({ minLength: 1, description: 'Host name.' }),
                parentRefs: PassthroughList('Gateways the HTTPRoute attaches to (gateway.networking.k8s.io ParentReference).'),
              },
              d('Expose coderd through a Gateway API HTTPRoute.'),
            ),
          ),
        },
        {
          description: 'How coderd is exposed outside the cluster: an Ingress or an HTTPRoute, not both.',
          'x-kubernetes-validations': [{ rule: '!(has(self.ingress) && has(self.gateway))', message: 'set expose.ingress or expose.gateway, not both' }],
        },
      ),
    ),
    volumes: Type.Optional(PassthroughList('Extra Pod volumes (core/v1 Volume).')),
    volumeMounts: Type.Optional(PassthroughList('Extra coderd volume mounts (core/v1 VolumeMount).')),
    certs: Type.Optional(
      Type.Object(
        { secrets: Type.Optional(Type.Array(Type.Object({ name: Type.String(), key: Type.String() }), d('CA certificates coderd trusts.'))) },
        d('Extra trusted CA certificates.'),
      ),
    ),
    nodeSelector: Type.Optional(StringMap('Pod node selector.')),
    tolerations: Type.Optional(PassthroughList('Pod tolerations.')),
    affinity: Type.Optional(Passthrough('Pod affinity.')),
    topologySpreadConstraints: Type.Optional(PassthroughList('Pod topology spread constraints.')),
    licenseSecretRef: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, description: 'Secret holding a Coder license JWT.' }),
          key: Type.Optional(Type.String({ default: 'license', description: 'Key in the Secret.' })),
        },
        d('A Coder Enterprise license to upload.'),
      ),
    ),
    operatorAccess: Type.Optional(
      Type.Object(
        {
          disabled: Type.Optional(Type.Boolean({ description: 'Do not obtain operator access; the control plane is then never eligible.' })),
          generatedTokenSecretName: Type.Optional(Type.String({ description: 'Secret to store a bootstrapped token in (default <name>-operator-token).' })),
          tokenSecretRef: Type.Optional({ ...SecretKeyRef, description: 'A Secret with a Coder API token to use (key default "token").' }),
        },
        d('How coder-k8s gets a Coder API token for this control plane.'),
      ),
    ),
    external: Type.Optional(
      Type.Object(
        { url: Type.String({ pattern: '^https?://[^\\s]+$', description: 'URL of an existing Coder deployment.' }) },
        d('Use an existing Coder deployment: nothing is deployed and status.url is this URL.'),
      ),
    ),
  },
  d('Desired state of a Coder control plane.'),
);
export type CoderControlPlaneSpec = Static<typeof CoderControlPlaneSpec>;

export const Condition = Type.Object(
  {
    type: Type.String(),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
    reason: Type.String(),
    message: Type.String(),
    lastTransitionTime: Type.String({ format: 'date-time' }),
    observedGeneration: Type.Optional(Type.Integer()),
  },
  d('A metav1.Condition.'),
);
export type Condition = Static<typeof Condition>;

export const CoderControlPlaneStatus = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation the status describes.' })),
    phase: Type.Optional(Type.Union([Type.Literal('Pending'), Type.Literal('Ready')], d('Pending until coderd answers and operator access works.'))),
    readyReplicas: Type.Optional(Type.Integer({ description: 'Ready coderd replicas.' })),
    url: Type.Optional(Type.String({ description: 'URL coder-k8s uses to reach Coder.' })),
    operatorTokenSecretRef: Type.Optional({ ...SecretKeyRef, description: 'Secret holding the operator API token.' }),
    operatorAccessReady: Type.Optional(Type.Boolean({ description: 'Whether the operator token works.' })),
    licenseTier: Type.Optional(Type.String({ description: 'License tier reported by Coder.' })),
    licenseLastApplied: Type.Optional(Type.String({ format: 'date-time', description: 'When the license was last uploaded.' })),
    licenseLastAppliedHash: Type.Optional(Type.String({ description: 'Hash of the license last uploaded.' })),
    entitlementsLastChecked: Type.Optional(Type.String({ format: 'date-time', description: 'When entitlements were last read.' })),
    externalProvisionerDaemonsEntitlement: Type.Optional(Type.String({ description: 'entitled, grace_period or not_entitled.' })),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description: 'Ready, OperatorAccessReady, Eligible, LicenseApplied.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
  },
  d('Observed state of a Coder control plane.'),
);
export type CoderControlPlaneStatus = Static<typeof CoderControlPlaneStatus>;

export const CoderProvisionerSpec = Type.Object(
  {
    controlPlaneRef: Type.Object({ name: Type.String({ minLength: 1 }) }, d('The CoderControlPlane the provisioners register with.')),
    organization: Type.Optional(Type.String({ default: 'default', description: 'Coder organization.' })),
    replicas: Type.Optional(Type.Integer({ minimum: 0, default: 1, description: 'Provisioner daemon replicas.' })),
    tags: Type.Optional(StringMap('Provisioner tags.')),
    image: Type.Optional(Type.String({ description: 'Image (default: the control plane image).' })),
  },
  d('External provisioner daemons for a control plane (reconciled in a later release).'),
);
export const CoderProvisionerStatus = Type.Object(
  { conditions: Type.Optional(Type.Array(Condition)), readyReplicas: Type.Optional(Type.Integer()) },
  d('Observed state of the provisioners.'),
);

export const CoderWorkspaceProxySpec = Type.Object(
  {
    controlPlaneRef: Type.Object({ name: Type.String({ minLength: 1 }) }, d('The CoderControlPlane the proxy registers with.')),
    displayName: Type.Optional(Type.String()),
    icon: Type.Optional(Type.String()),
    replicas: Type.Optional(Type.Integer({ minimum: 0, default: 1 })),
    image: Type.Optional(Type.String({ description: 'Image (default: the control plane image).' })),
  },
  d('A Coder workspace proxy for a control plane (reconciled in a later release).'),
);
export const CoderWorkspaceProxyStatus = Type.Object(
  { conditions: Type.Optional(Type.Array(Condition)), url: Type.Optional(Type.String()) },
  d('Observed state of the workspace proxy.'),
);
