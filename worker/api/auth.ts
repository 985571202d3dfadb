import type { Config } from "../../lib/config";
import { ApiError } from "../../lib/errors";

/** The token of `Authorization: Bearer <token>`, or null. */
export const bearerToken = (header: string | undefined | null): string | null => header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? null;

/** Resolves the tenant from `Authorization: Bearer <api key>`; anything else is a 401. */
export async function tenantFromAuthorization(header: string | undefined | null, config: Config): Promise<string> {
  const key = bearerToken(header);
  const tenant = key === null ? undefined : await config.API_KEYS.tenantOf(key);
  if (!tenant) throw new ApiError("unauthorized", "a valid API key is required: Authorization: Bearer <api key>");
  return tenant;
}
