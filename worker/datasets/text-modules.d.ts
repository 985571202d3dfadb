// wrangler.toml's Text rule bundles *.csv files as their text.
declare module "*.csv" {
  const text: string;
  export default text;
}
