import { badRequest } from '../../meta/status-error.ts';

// Coder's name rule (codersdk NameValid). Kubernetes names are lower-case, and Coder
// matches names case-insensitively, so object names use the lower-cased Coder names.
const CODER_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_CODER_NAME = 32;

export interface TemplateName {
  organization: string;
  template: string;
}

export interface WorkspaceName {
  organization: string;
  owner: string;
  workspace: string;
}

function segments(kind: string, name: string, expected: string, count: number): string[] {
  const parts = name.split('.');
  if (parts.length !== count) {
    throw badRequest(`invalid ${kind} name "${name}": expected ${expected} (exactly ${count - 1} dot${count > 2 ? 's' : ''})`);
  }
  for (const part of parts) {
    if (!CODER_NAME.test(part) || part.length > MAX_CODER_NAME) {
      throw badRequest(
        `invalid ${kind} name "${name}": expected ${expected}, each part 1-${MAX_CODER_NAME} lower-case letters, digits and single inner hyphens; "${part}" is not`,
      );
    }
  }
  return parts;
}

// Coder resolves these in paths as aliases (the default organization, the caller), so as
// name segments they would address objects whose names differ.
function rejectAlias(kind: string, name: string, segment: string, alias: string, what: string): void {
  if (segment === alias) throw badRequest(`invalid ${kind} name "${name}": "${alias}" is Coder's alias for ${what}; use the real name`);
}

export function parseTemplateName(name: string): TemplateName {
  const [organization = '', template = ''] = segments('CoderTemplate', name, '<organization>.<template>', 2);
  rejectAlias('CoderTemplate', name, organization, 'default', 'the default organization');
  return { organization, template };
}

export function parseWorkspaceName(name: string): WorkspaceName {
  const [organization = '', owner = '', workspace = ''] = segments(
    'CoderWorkspace',
    name,
    '<organization>.<owner>.<workspace>',
    3,
  );
  rejectAlias('CoderWorkspace', name, organization, 'default', 'the default organization');
  rejectAlias('CoderWorkspace', name, owner, 'me', 'the calling user');
  return { organization, owner, workspace };
}

export function templateObjectName(organization: string, template: string): string {
  return `${organization}.${template}`.toLowerCase();
}

export function workspaceObjectName(organization: string, owner: string, workspace: string): string {
  return `${organization}.${owner}.${workspace}`.toLowerCase();
}
