// The Dashboard page: coming (see docs/CONSOLE.md).
export function mount(root, ctx) {
  const { el } = ctx;
  root.append(el('h1', {}, 'Dashboard'), el('p', { class: 'empty coming' }, 'The dashboard page is coming.'));
  return () => {};
}
