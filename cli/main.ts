/** zf-vis: placeholder entry until the CLI lands (see cli/commands). */
export async function main(argv: string[]): Promise<number> {
  console.error(`zf-vis: unknown command '${argv[0] ?? ''}'`);
  return 2;
}
