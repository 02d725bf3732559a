/** The lines of code in `text`: doc comments, line comments and blank lines left out. */
export function codeLines(text: string): string[] {
  return text
    .replace(/\/\*\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.replace(/\s*\/\/.*$/, ''))
    .filter((line) => line.trim() !== '');
}

/** The js or ts code blocks of a markdown text that start with `// <path>`, by path. */
export function fileBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const [, path, code] of markdown.matchAll(/```(?:js|ts)\n\/\/ (\S+)\n([\s\S]*?)```/g)) {
    blocks.set(path as string, code as string);
  }
  return blocks;
}
