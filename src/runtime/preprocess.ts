// A tiny WGSL preprocessor: `#if NAME`, `#if !NAME`, `#if A && !B`, `#elif …`, `#else`, `#endif` on lines
// of their own, chosen by boolean defines; `${NAME}` is replaced by a numeric define (for array sizes that
// overrides can't set) or a text one (code generated from a table, as unary.wgsl's cases); `#include NAME` pastes
// another shader file (WGSL has no imports), itself preprocessed with the same defines.
export type Defines = Record<string, boolean | number | string>;

export function preprocess(source: string, defines: Defines = {}, include?: (name: string) => string | undefined): string {
  const out: string[] = [];
  const stack: { active: boolean; taken: boolean }[] = [];
  const active = () => stack.every((s) => s.active);
  source.split('\n').forEach((line, i) => {
    const included = line.trim().match(/^#include\s+(\w+)$/);
    if (included) {
      if (!active()) return;
      const text = include?.(included[1]);
      if (text === undefined) throw new Error(`wgsl preprocess: #include ${included[1]} at line ${i + 1} names no shader`);
      out.push(preprocess(text, defines, include));
      return;
    }
    const directive = line.trim().match(/^#(if|elif|else|endif)\b\s*(.*)$/);
    if (!directive) {
      if (active()) out.push(line.replace(/\$\{(\w+)\}/g, (_, name: string) => String(lookup(defines, name, i))));
      return;
    }
    const [, kind, condition] = directive;
    // a condition is NAME, !NAME, or several joined by &&
    const holds = () => condition.split('&&').map((term) => {
      const [, negate, name] = term.trim().match(/^(!?)(\w+)$/) ?? [];
      if (name === undefined) throw new Error(`wgsl preprocess: bad condition "${condition}" at line ${i + 1}`);
      return Boolean(lookup(defines, name, i, false)) !== (negate === '!');
    }).every(Boolean);
    if (kind === 'if') {
      const on = holds();
      stack.push({ active: on, taken: on });
    } else if (kind === 'elif' || kind === 'else') {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`wgsl preprocess: #${kind} without #if at line ${i + 1}`);
      const on = !top.taken && (kind === 'else' || holds());
      top.active = on;
      top.taken ||= on;
    } else if (!stack.pop()) {
      throw new Error(`wgsl preprocess: #endif without #if at line ${i + 1}`);
    }
  });
  if (stack.length) throw new Error('wgsl preprocess: unterminated #if');
  return out.join('\n');
}

function lookup(defines: Defines, name: string, line: number, fallback?: boolean): boolean | number | string {
  if (name in defines) return defines[name];
  if (fallback !== undefined) return fallback;
  throw new Error(`wgsl preprocess: \${${name}} at line ${line + 1} has no define`);
}
