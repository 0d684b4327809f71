/** Files imported `with { type: "file" }`: the import is the file's path (embedded when compiled). */
declare module "*.so" {
  const path: string;
  export default path;
}
