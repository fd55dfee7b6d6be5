/**
 * Renders Chart.js charts to PNG without a browser: Chart.js draws on an @napi-rs/canvas
 * canvas (Skia), with animation and responsiveness off so one synchronous draw is final.
 */
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration } from 'chart.js/auto';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write';


const FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/System/Library/Fonts/Helvetica.ttc', 'C:\\Windows\\Fonts\\arial.ttf'];
let fontsReady = false;

function ensureFonts(): void {
  if (fontsReady) return;
  fontsReady = true;
  // Skia finds system fonts itself on most machines; register a known one where present.
  for (const file of FONT_FILES) if (existsSync(file)) GlobalFonts.registerFromPath(file, 'ChartSans');
  Chart.defaults.font.family = 'ChartSans, DejaVu Sans, Helvetica, Arial, sans-serif';
}

export interface ChartPanel {
  config: ChartConfiguration;
  /** Panel position in a grid of `columns` columns. */
  column: number;
  row: number;
}

/** Draws one or more charts in a grid onto one white PNG. */
export function renderChartGrid(panels: ChartPanel[], columns: number, panelWidth = 640, panelHeight = 400): Buffer {
  ensureFonts();
  const rows = Math.max(...panels.map((p) => p.row)) + 1;
  const sheet = createCanvas(columns * panelWidth, rows * panelHeight);
  const sheetCtx = sheet.getContext('2d');
  sheetCtx.fillStyle = '#ffffff';
  sheetCtx.fillRect(0, 0, sheet.width, sheet.height);
  for (const panel of panels) {
    const canvas = createCanvas(panelWidth, panelHeight);
    const config = {
      ...panel.config,
      options: { ...(panel.config.options ?? {}), animation: false, responsive: false, devicePixelRatio: 1 },
    } as ChartConfiguration;
    // Chart.js accepts any object with getContext('2d'); @napi-rs/canvas provides one.
    const chart = new Chart(canvas as unknown as HTMLCanvasElement, config);
    sheetCtx.drawImage(canvas, panel.column * panelWidth, panel.row * panelHeight);
    chart.destroy();
  }
  return sheet.toBuffer('image/png');
}

/** Renders the grid and writes it atomically. */
export async function writeChartGrid(file: string, panels: ChartPanel[], columns: number): Promise<void> {
  await writeFileAtomic(file, renderChartGrid(panels, columns));
}
