/** The four files of a drift run, all rendered from the one result object and written atomically. */
import * as path from 'node:path';
import type { DriftResult } from '../drift/result';
import { renderDriftChart } from './drift-chart';
import { renderDriftHtml } from './drift-html';
import { renderDriftText } from './drift-text';
import { writeReportFiles } from './report-files';

export const OUTPUT_FILES = {
  json: 'performance_log.json',
  text: 'drift_report.txt',
  html: 'drift_report.html',
  chart: 'drift_analysis.png',
} as const;

export type DriftOutputFiles = Record<keyof typeof OUTPUT_FILES, string>;

export async function writeDriftOutputs(result: DriftResult, outDir: string, plotsDir: string): Promise<DriftOutputFiles> {
  const files = {
    json: path.join(outDir, OUTPUT_FILES.json),
    text: path.join(outDir, OUTPUT_FILES.text),
    html: path.join(outDir, OUTPUT_FILES.html),
    chart: path.join(plotsDir, OUTPUT_FILES.chart),
  };
  return writeReportFiles(files, result, { text: renderDriftText, chart: renderDriftChart, html: renderDriftHtml });
}
