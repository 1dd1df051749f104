// The demo page's fields (demo/index.html): one element per value, addressed by id.
export type Field = 'rank' | 'backend' | 'status' | 'step' | 'loss' | 'accuracy' | 'bytes' | 'codec' | 'algorithm' | 'time' | 'checksum';

export function show(field: Field, text: string, tone?: 'ok' | 'bad'): void {
  const element = document.getElementById(field);
  if (!element) return;
  element.textContent = text;
  element.className = tone ?? '';
}
