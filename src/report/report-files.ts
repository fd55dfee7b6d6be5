/**
 * The four files of one run's report set (drift and monitor alike): the result as JSON, the text
 * report, the chart PNG and the HTML page that embeds it, each rendered from the one result object
 * (nothing recomputed) and written atomically.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';

export interface ReportFiles {
  json: string;
  text: string;
  html: string;
  chart: string;
}

/** Where a report set's files go: `names` in `dir`, the chart in `chartDir` (default: `dir`). */
export function reportPaths(names: ReportFiles, dir: string, chartDir = dir): ReportFiles {
  return { json: path.join(dir, names.json), text: path.join(dir, names.text), html: path.join(dir, names.html), chart: path.join(chartDir, names.chart) };
}

export interface ReportRenderers<R> {
  text(result: R): string;
  chart(result: R): Buffer;
  html(result: R, chart: Buffer): string;
}

export async function writeReportFiles<R>(files: ReportFiles, result: R, render: ReportRenderers<R>): Promise<ReportFiles> {
  const chart = render.chart(result);
  await writeFileAtomic(files.json, JSON.stringify(result, null, 2) + '\n');
  await writeFileAtomic(files.text, render.text(result));
  await writeFileAtomic(files.chart, chart);
  await writeFileAtomic(files.html, render.html(result, chart));
  return files;
}
