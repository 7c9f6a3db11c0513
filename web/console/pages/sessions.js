// The Sessions page: coming (see docs/CONSOLE.md).
export function mount(root, ctx) {
  const { el } = ctx;
  root.append(el('h1', {}, 'Sessions'), el('p', { class: 'empty coming' }, 'The sessions page is coming.'));
  return () => {};
}
