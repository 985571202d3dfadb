import type { Config } from "../../lib/config";
import { ApiError } from "../../lib/errors";

/** Resolves the tenant from `Authorization: Bearer <api key>`; anything else is a 401. */
export function tenantFromAuthorization(header: string | undefined | null, config: Config): string {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  const tenant = match ? config.API_KEYS[match[1]!] : undefined;
  if (!tenant) throw new ApiError("unauthorized", "a valid API key is required: Authorization: Bearer <api key>");
  return tenant;
}
