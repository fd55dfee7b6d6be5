/** The four files of a drift run, all rendered from the one result object and written atomically. */
import type { DriftResult } from '../drift/result';
import { renderDriftChart } from './drift-chart';
import { renderDriftHtml } from './drift-html';
import { renderDriftText } from './drift-text';
import { reportPaths, writeReportFiles } from './report-files';

export const OUTPUT_FILES = {
  json: 'performance_log.json',
  text: 'drift_report.txt',
  html: 'drift_report.html',
  chart: 'drift_analysis.png',
} as const;

export type DriftOutputFiles = Record<keyof typeof OUTPUT_FILES, string>;

export async function writeDriftOutputs(result: DriftResult, outDir: string, plotsDir: string): Promise<DriftOutputFiles> {
  return writeReportFiles(reportPaths(OUTPUT_FILES, outDir, plotsDir), result, { text: renderDriftText, chart: renderDriftChart, html: renderDriftHtml });
}
