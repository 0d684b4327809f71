/** Files imported `with { type: "file" }`: the import is the file's path (embedded when compiled). */
declare module "*.embed" {
  const path: string;
  export default path;
}
