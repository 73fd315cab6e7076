/**
 * The layer picker's tree of an imported graph's tensors, grouped by module scope (PyTorch's
 * export names: `/layer3/layer3.1/conv1/Conv_output_0` sits in `/layer3/` > `layer3.1/`). No DOM:
 * the picker renders what these functions return, and Node tests check them.
 *
 * Grouping: each '/'-separated prefix of a tensor's scope is a group, nested; then a group that
 * holds a single tensor is folded into its parent (a leaf module such as `conv1/` or `relu_1/`
 * is not worth a level of its own: the tensor shows as `conv1/Conv_output_0`), and a group that
 * holds nothing but one group is merged with it (`/layer4/layer4.0/` when layer4 has one block).
 * Groups below the top show their scope relative to their parent (`layer3.1/`). Groups and
 * tensors keep the graph's topological order (a group sits where its first tensor is).
 */
import type { TensorInfo } from '../../src/worker/protocol.js';

export interface TreeTensor {
  type: 'tensor';
  tensor: TensorInfo;
  /** The name relative to the enclosing group's scope. */
  label: string;
  /** Position in topological order (among the offered tensors). */
  index: number;
}

export interface TreeGroup {
  type: 'group';
  /** The full scope, e.g. `/layer3/layer3.1/`; '' for the root. */
  scope: string;
  /** The scope relative to the parent group (the full scope at the top level). */
  label: string;
  children: (TreeGroup | TreeTensor)[];
  /** Tensors in the group and its subgroups. */
  count: number;
  /** The first tensor's topological position (orders siblings). */
  first: number;
}

/** The tensors a projection can start from (the picker offers these only). */
export function offeredTensors(tensors: readonly TensorInfo[]): TensorInfo[] {
  return tensors.filter((t) => t.projectable);
}

/** Every '/'-ending prefix of a scope that names a module (`/a/b/` -> `/a/`, `/a/b/`). */
function scopePrefixes(scope: string): string[] {
  const out: string[] = [];
  for (let i = scope.indexOf('/'); i >= 0; i = scope.indexOf('/', i + 1)) {
    const prefix = scope.slice(0, i + 1);
    // An empty segment (the leading '/', or '//') names no module.
    const start = scope.lastIndexOf('/', i - 1) + 1;
    if (i > start) out.push(prefix);
  }
  return out;
}

/** The tree of `tensors` (already filtered to what is offered), root first. */
export function tensorTree(tensors: readonly TensorInfo[]): TreeGroup {
  const root: TreeGroup = { type: 'group', scope: '', label: '', children: [], count: 0, first: 0 };
  const groups = new Map<string, TreeGroup>([['', root]]);
  tensors.forEach((tensor, index) => {
    let parent = root;
    for (const prefix of scopePrefixes(tensor.scope)) {
      let group = groups.get(prefix);
      if (!group) {
        group = { type: 'group', scope: prefix, label: '', children: [], count: 0, first: index };
        groups.set(prefix, group);
        parent.children.push(group);
      }
      parent = group;
    }
    parent.children.push({ type: 'tensor', tensor, label: '', index });
  });
  fold(root);
  relabel(root);
  return root;
}

/** Fold single-tensor groups into their parents and merge groups that only hold one group. */
function fold(group: TreeGroup): void {
  const children: (TreeGroup | TreeTensor)[] = [];
  for (const child of group.children) {
    if (child.type === 'tensor') {
      children.push(child);
      continue;
    }
    fold(child);
    if (child.count === 1) {
      children.push(child.children[0]);
    } else if (child.children.length === 1 && child.children[0].type === 'group') {
      children.push(child.children[0]);
    } else {
      children.push(child);
    }
  }
  group.children = children.sort((a, b) => firstOf(a) - firstOf(b));
  group.count = children.reduce((n, c) => n + (c.type === 'tensor' ? 1 : c.count), 0);
  group.first = children.length ? firstOf(children[0]) : 0;
}

function firstOf(item: TreeGroup | TreeTensor): number {
  return item.type === 'tensor' ? item.index : item.first;
}

function relabel(group: TreeGroup): void {
  for (const child of group.children) {
    if (child.type === 'tensor') {
      const name = child.tensor.name;
      child.label = group.scope && name.startsWith(group.scope) ? name.slice(group.scope.length) : name;
    } else {
      child.label = group.scope && child.scope.startsWith(group.scope) ? child.scope.slice(group.scope.length) : child.scope;
      relabel(child);
    }
  }
}

/** One visible row of the tree: a group header or a tensor, at a depth (0: top level). */
export type TreeRow =
  | { type: 'group'; group: TreeGroup; depth: number; expanded: boolean; parent?: TreeGroup }
  | { type: 'tensor'; item: TreeTensor; depth: number; parent?: TreeGroup };

/** Does the tensor match a search (case-insensitive substring of its name, short layer name or op kind)? */
export function matches(tensor: TensorInfo, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return tensor.name.toLowerCase().includes(q) || (tensor.layer?.toLowerCase().includes(q) ?? false) ||
    tensor.kind.toLowerCase() === q || (tensor.fn?.toLowerCase() === q);
}

/**
 * The rows to show: with no query, the tree with `expanded` groups open (the others closed);
 * with a query, only the matching tensors, inside every group that holds one, all open.
 */
export function visibleRows(root: TreeGroup, expanded: ReadonlySet<string>, query = ''): TreeRow[] {
  const rows: TreeRow[] = [];
  const searching = query.trim() !== '';
  const walk = (group: TreeGroup, depth: number): void => {
    for (const child of group.children) {
      const parent = group === root ? undefined : group;
      if (child.type === 'tensor') {
        if (!searching || matches(child.tensor, query)) rows.push({ type: 'tensor', item: child, depth, parent });
        continue;
      }
      if (searching && !hasMatch(child, query)) continue;
      const open = searching || expanded.has(child.scope);
      rows.push({ type: 'group', group: child, depth, expanded: open, parent });
      if (open) walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return rows;
}

function hasMatch(group: TreeGroup, query: string): boolean {
  return group.children.some((c) => (c.type === 'tensor' ? matches(c.tensor, query) : hasMatch(c, query)));
}

/** The scopes of the groups that hold the tensor `name`, outermost first (to open them). */
export function groupsOf(root: TreeGroup, name: string): string[] {
  const path: string[] = [];
  const find = (group: TreeGroup): boolean => {
    for (const child of group.children) {
      if (child.type === 'tensor') {
        if (child.tensor.name === name) return true;
      } else {
        path.push(child.scope);
        if (find(child)) return true;
        path.pop();
      }
    }
    return false;
  };
  return find(root) ? path : [];
}

/** "64×7×7" for maps, "1000" for units. */
export function shapeText(shape: readonly number[]): string {
  return shape.join('×');
}

/** How a tensor is read aloud: "/layer4/.../Relu_output_0, relu, 512 maps of 7 by 7 (conv17 relu)". */
export function describeTensor(t: TensorInfo): string {
  const what = t.shape.length === 3 ? `${t.shape[0]} maps of ${t.shape[1]} by ${t.shape[2]}` : `${t.shape[0]} units`;
  const kind = t.fn ? `${t.kind} ${t.fn}` : t.kind;
  return `${t.name}, ${kind}, ${what}${t.layer ? ` (${t.layer} ${t.point})` : ''}`;
}
