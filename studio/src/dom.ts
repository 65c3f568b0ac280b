// Small DOM helpers: typed lookups by id, and status lines.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`studio: the page has no #${id}`);
  return element as T;
}

/** Shows `text` in a status line; `error` styles it as one. */
export function setStatus(element: HTMLElement, text: string, error = false): void {
  element.textContent = text;
  element.classList.toggle('error', error);
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** A whole number from an input, clamped to [min, max]. */
export function intOf(input: HTMLInputElement, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Math.round(Number(input.value));
  return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : min;
}

export function fillSelect(select: HTMLSelectElement, options: { value: string; label: string }[]): void {
  select.replaceChildren(...options.map(({ value, label }) => Object.assign(document.createElement('option'), { value, textContent: label })));
}
