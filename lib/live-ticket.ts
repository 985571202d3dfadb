/**
 * A live ticket as it travels in the WebSocket URL: `<tenant, base64url>.<secret>`. The tenant only
 * routes the upgrade to a DO (named from tenant and job id); the DO accepts the secret once, within
 * its TTL. A forged tenant reaches a DO that never issued the secret.
 */
const TENANT_MAX = 128;

const toBase64Url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export const encodeTicket = (tenant: string, secret: string): string => `${toBase64Url(new TextEncoder().encode(tenant))}.${secret}`;

/** The tenant and secret of a ticket, or null for anything malformed. */
export function decodeTicket(ticket: string): { tenant: string; secret: string } | null {
  const dot = ticket.indexOf(".");
  if (dot <= 0 || ticket.length > 400) return null;
  const bytes = fromBase64Url(ticket.slice(0, dot));
  const secret = ticket.slice(dot + 1);
  if (!bytes || bytes.length === 0 || bytes.length > TENANT_MAX || !/^[A-Za-z0-9_-]{32,128}$/.test(secret)) return null;
  let tenant: string;
  try {
    tenant = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
  return { tenant, secret };
}

/** A fresh secret: 32 random bytes, base64url. */
export const newTicketSecret = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(32)));

/** The hex SHA-256 of a secret: what the DO stores, so its storage never holds a usable ticket. */
export async function ticketHash(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
