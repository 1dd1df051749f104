// The demo page's fields (demo/index.html): one <dd> per value, addressed by id.
export type Field = 'rank' | 'adapter' | 'status' | 'count' | 'calls' | 'time' | 'busbw' | 'result' | 'check';

export function show(field: Field, text: string, tone?: 'ok' | 'bad'): void {
  const element = document.getElementById(field);
  if (!element) return;
  element.textContent = text;
  element.className = tone ?? '';
}
