/** What the HTML reports (drift, monitor) share: the page shell and base style, and the escaper (escape-html, as express uses). */
import escapeHtml from 'escape-html';

export { escapeHtml };

/** Base style of every HTML report; each report appends its own rules. */
const REPORT_BASE_CSS = `body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1320px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #ddd; }`;

/** A whole report page: the base style plus the report's own rules, the title as heading, then `body`. */
export function htmlPage(title: string, css: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${REPORT_BASE_CSS}
${css}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
