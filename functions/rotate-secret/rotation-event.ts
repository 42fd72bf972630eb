// What a Secret Manager notification asks for (pure): the Pub/Sub "messagePublished" CloudEvent
// body `{ message: { attributes, data (base64), messageId } }` → rotate, expire old versions, or ignore.

/** eventType attribute values Secret Manager publishes for rotation (others are version/secret lifecycle). */
export const SECRET_ROTATE = 'SECRET_ROTATE';
/** Our own eventType: a scheduled "disable expired versions" pass with no rotation (see README). */
export const EXPIRE_VERSIONS = 'EXPIRE_VERSIONS';

export interface PubsubMessagePublished {
  message?: { attributes?: Record<string, string>; data?: string; messageId?: string; message_id?: string; publishTime?: string };
  subscription?: string;
}

export type RotationRequest =
  | { action: 'rotate' | 'expire'; secret: string; messageId: string; eventType: string }
  | { action: 'ignore'; reason: string; messageId: string; eventType: string };

const SECRET_NAME = /^projects\/[^/]+\/secrets\/[^/]+$/;

/** The secret a notification names: the `secretId` attribute, else `name` in the JSON payload. */
function secretOf(message: NonNullable<PubsubMessagePublished['message']>): string | null {
  const attr = message.attributes?.['secretId'];
  if (attr && SECRET_NAME.test(attr)) return attr;
  if (message.data) {
    try {
      const payload = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8')) as { name?: unknown };
      const name = typeof payload.name === 'string' ? payload.name.replace(/\/versions\/[^/]+$/, '') : '';
      if (SECRET_NAME.test(name)) return name;
    } catch {
      // not JSON: the attribute is the contract, the payload a fallback
    }
  }
  return null;
}

/**
 * True when `named` (as published: the project may be a number) is the configured secret
 * `configured` (projects/<id or number>/secrets/<name>): the secret names must be equal, and the
 * projects too unless one of them is numeric (Secret Manager publishes project numbers).
 */
export function sameSecret(named: string, configured: string): boolean {
  const [, pa, , sa] = named.split('/');
  const [, pb, , sb] = configured.split('/');
  if (!sa || sa !== sb) return false;
  return pa === pb || /^\d+$/.test(pa ?? '') !== /^\d+$/.test(pb ?? '');
}

/**
 * Decides what a notification asks of the rotation function: which of the configured secrets
 * (one per rotated role) and whether to rotate it or only expire old versions.
 */
export function parseRotationEvent(body: PubsubMessagePublished | undefined, configuredSecrets: string | readonly string[]): RotationRequest {
  const configured = typeof configuredSecrets === 'string' ? [configuredSecrets] : configuredSecrets;
  const message = body?.message;
  const messageId = message?.messageId ?? message?.message_id ?? '';
  const eventType = message?.attributes?.['eventType'] ?? '';
  if (!message) return { action: 'ignore', reason: 'not a Pub/Sub messagePublished event (no message)', messageId, eventType };
  const secret = secretOf(message);
  if (!secret) return { action: 'ignore', reason: 'the message names no secret (attribute secretId)', messageId, eventType };
  const match = configured.find((c) => sameSecret(secret, c));
  if (!match) return { action: 'ignore', reason: `secret ${secret} is not one of the configured ${configured.join(', ')}`, messageId, eventType };
  // our own version changes publish SECRET_VERSION_ADD / _DISABLE too: those only run the expiry pass
  return { action: eventType === SECRET_ROTATE ? 'rotate' : 'expire', secret: match, messageId, eventType };
}
