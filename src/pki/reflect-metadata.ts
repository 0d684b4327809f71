/**
 * Minimal `Reflect.getMetadata` / `getOwnMetadata` / `defineMetadata`, installed only when absent.
 *
 * @peculiar/x509 2.x resolves its algorithms through tsyringe, which refuses to load unless these three
 * functions exist (it reads constructor parameter metadata; x509's classes have none). This covers exactly
 * that use: metadata is stored per (target, property key) and `getMetadata` walks the prototype chain.
 * Replaceable by the `reflect-metadata` package if it is ever added as a dependency.
 */
type MetadataTable = Map<unknown, unknown>;

const tables = new WeakMap<object, Map<PropertyKey | undefined, MetadataTable>>();

function ownTable(
  target: object,
  property: PropertyKey | undefined,
  create: boolean,
): MetadataTable | undefined {
  let byProperty = tables.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    tables.set(target, byProperty);
  }
  let table = byProperty.get(property);
  if (!table && create) {
    table = new Map();
    byProperty.set(property, table);
  }
  return table;
}

function defineMetadata(key: unknown, value: unknown, target: object, property?: PropertyKey): void {
  ownTable(target, property, true)?.set(key, value);
}

function getOwnMetadata(key: unknown, target: object, property?: PropertyKey): unknown {
  return ownTable(target, property, false)?.get(key);
}

function getMetadata(key: unknown, target: object, property?: PropertyKey): unknown {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
    const table = ownTable(t, property, false);
    if (table?.has(key)) return table.get(key);
  }
  return undefined;
}

/** Adds the three functions to the global `Reflect` unless a real polyfill is already there. */
export function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === "function") return;
  Object.assign(reflect, { defineMetadata, getOwnMetadata, getMetadata });
}
