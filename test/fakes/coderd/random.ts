// Random identifiers shaped like coderd's: API keys are `<10-char id>-<22-char
// secret>` from an alphanumeric alphabet; only a hash of the secret is stored.
import { createHash, randomBytes, randomInt } from 'node:crypto';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALNUM.charAt(byte % ALNUM.length);
  return out;
}

export interface NewToken {
  id: string;
  secret: string;
  token: string;
}

export function newToken(): NewToken {
  const id = randomAlnum(10);
  const secret = randomAlnum(22);
  return { id, secret, token: `${id}-${secret}` };
}

const TOKEN_RE = /^([a-zA-Z0-9]{10})-([a-zA-Z0-9]{22})$/;

/** Splits a session token into key id and secret; null when malformed. */
export function splitToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN_RE.exec(token);
  if (!match) return null;
  const [, id = '', secret = ''] = match;
  return { id, secret };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'proud', 'quirky', 'sharp', 'tender', 'vivid'];
const SURNAMES = ['curie', 'darwin', 'euler', 'feynman', 'galileo', 'hopper', 'kepler', 'lovelace', 'newton', 'noether', 'pasteur', 'ritchie', 'shannon', 'turing', 'wozniak', 'yalow'];

/** Docker-style names, as coderd uses for unnamed template versions and tokens. */
export function randomName(): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)] ?? 'brave';
  const surname = SURNAMES[randomInt(SURNAMES.length)] ?? 'turing';
  return `${adjective}_${surname}${randomInt(10)}`;
}
