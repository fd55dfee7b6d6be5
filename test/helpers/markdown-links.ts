// Finds relative links and #anchors in Markdown files that do not resolve, the way GitHub renders
// them: markdown-it parses the files (so links inside code are not links), github-slugger makes the
// heading anchors (duplicates get -1, -2, ... as on GitHub).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import GithubSlugger from 'github-slugger';

const markdown = new MarkdownIt({ html: true });

interface ParsedPage {
  anchors: Set<string>;
  links: string[];
}

function inlineText(token: MarkdownIt.Token): string {
  return (token.children ?? []).map((child) => (child.type === 'text' || child.type === 'code_inline' ? child.content : '')).join('');
}

function parsePage(file: string): ParsedPage {
  const tokens = markdown.parse(readFileSync(file, 'utf8'), {});
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: string[] = [];
  tokens.forEach((token, index) => {
    if (token.type === 'heading_open') anchors.add(slugger.slug(inlineText(tokens[index + 1])));
    for (const child of token.children ?? []) {
      const href = child.type === 'link_open' ? child.attrGet('href') : null;
      if (href !== null) links.push(String(href));
    }
  });
  return { anchors, links };
}

const isExternal = (href: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(href);

/** One line per link that does not resolve: `<file>: <href> (<why>)`. */
export function brokenLinks(files: string[]): string[] {
  const pages = new Map<string, ParsedPage>();
  const page = (file: string): ParsedPage => {
    const resolved = path.resolve(file);
    let parsed = pages.get(resolved);
    if (!parsed) {
      parsed = parsePage(resolved);
      pages.set(resolved, parsed);
    }
    return parsed;
  };
  const problems: string[] = [];
  for (const file of files) {
    for (const href of page(file).links) {
      if (isExternal(href)) continue;
      const [target, anchor] = href.split('#', 2);
      const targetFile = target ? path.resolve(path.dirname(file), decodeURIComponent(target)) : path.resolve(file);
      if (!existsSync(targetFile)) {
        problems.push(`${file}: ${href} (no such file)`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(targetFile).isDirectory() || !targetFile.endsWith('.md')) {
        problems.push(`${file}: ${href} (an anchor into something that is not a Markdown file)`);
      } else if (!page(targetFile).anchors.has(decodeURIComponent(anchor))) {
        problems.push(`${file}: ${href} (no heading with that anchor)`);
      }
    }
  }
  return problems;
}
