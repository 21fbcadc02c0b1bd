// Validates OCSF events against the class definitions of the OCSF schema 1.8.0 kept in
// test/ocsf/schema (Apache-2.0, see its LICENSE): the class and its parents (extends), the
// profiles and includes they name, the objects (recursively) and the dictionary's types and
// enums. Reports every problem as "path: what".
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const schema = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schema');
const read = (file) => JSON.parse(fs.readFileSync(path.join(schema, file), 'utf8'));
const dictionary = read('dictionary.json');
const categories = read('categories.json').attributes;
export const classFiles = {
  6003: 'events/application/api_activity.json',
  3002: 'events/iam/authentication.json',
  3001: 'events/iam/account_change.json',
  3004: 'events/iam/entity_management.json',
  3005: 'events/iam/user_access.json',
};

function merged(definition, locate) {
  const chain = [];
  for (let d = definition; d; d = d.extends && d.extends !== 'object' ? read(locate(d.extends)) : null) chain.unshift(d);
  const attributes = {};
  let constraints = {};
  for (const d of chain) {
    for (const [name, a] of Object.entries(d.attributes ?? {})) {
      if (name === '$include') {
        for (const file of a) {
          const included = read(file);
          for (const [n, attr] of Object.entries(included.attributes)) {
            // A profile's attributes exist only in events that declare the profile.
            attributes[n] = included.meta === 'profile' ? { ...attr, profile: included.name } : attr;
          }
        }
      } else {
        attributes[name] = { ...(attributes[name] ?? {}), ...a };
      }
    }
    if (d.constraints) constraints = d.constraints;
  }
  return { attributes, constraints, chain };
}

const eventParent = (name) => (name === 'base_event' ? 'events/base_event.json'
  : name === 'application' ? 'events/application/application.json' : name === 'iam' ? 'events/iam/iam.json'
    : (() => { throw new Error(`unknown event parent ${name}`); })());
const objectCache = new Map();
function objectDefinition(name) {
  if (!objectCache.has(name)) objectCache.set(name, merged(read(`objects/${name}.json`), (p) => `objects/${p}.json`));
  return objectCache.get(name);
}

function baseType(type) {
  let t = type;
  while (dictionary.types.attributes[t]?.type) t = dictionary.types.attributes[t].type;
  return t;
}

function checkValue(value, name, local, where, problems, profiles) {
  const dict = dictionary.attributes[name];
  if (!dict) return problems.push(`${where}: ${name} is not in the dictionary`);
  const type = dict.type;
  const isArray = dict.is_array ?? false;
  if (isArray) {
    if (!Array.isArray(value)) return problems.push(`${where}: must be an array`);
    value.forEach((v, i) => checkScalar(v, name, type, local, `${where}[${i}]`, problems, profiles));
  } else {
    checkScalar(value, name, type, local, where, problems, profiles);
  }
}

function checkScalar(value, name, type, local, where, problems, profiles) {
  if (value === null) return problems.push(`${where}: null`);
  const enumeration = local?.enum ?? dictionary.attributes[name]?.enum;
  if (type.endsWith('_t')) {
    const t = baseType(type);
    const ok = { string_t: typeof value === 'string', integer_t: Number.isInteger(value),
      long_t: Number.isInteger(value), float_t: typeof value === 'number', boolean_t: typeof value === 'boolean',
      json_t: true }[t];
    if (ok === undefined) return problems.push(`${where}: unknown type ${type}`);
    if (!ok) return problems.push(`${where}: ${JSON.stringify(value)} is not ${type}`);
    if (enumeration && !Object.prototype.hasOwnProperty.call(enumeration, String(value))) {
      problems.push(`${where}: ${value} is not one of ${Object.keys(enumeration).join(', ')}`);
    }
    return;
  }
  if (type === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) problems.push(`${where}: must be an object`);
    return;
  }
  checkObject(value, objectDefinition(type), where, problems, profiles);
}

function checkObject(value, definition, where, problems, profiles = []) {
  if (typeof value !== 'object' || Array.isArray(value) || value === null) {
    return problems.push(`${where}: must be an object`);
  }
  const attributes = Object.fromEntries(Object.entries(definition.attributes)
    .filter(([, a]) => !a.profile || profiles.includes(a.profile)));
  definition = { ...definition, attributes };
  for (const [name, a] of Object.entries(definition.attributes)) {
    if (a.requirement === 'required' && !(name in value)) problems.push(`${where}: required ${name} missing`);
  }
  for (const [name, v] of Object.entries(value)) {
    const local = definition.attributes[name];
    if (!local) {
      problems.push(`${where}: ${name} is not an attribute here`);
      continue;
    }
    checkValue(v, name, local, `${where}.${name}`, problems, profiles);
  }
  const atLeastOne = definition.constraints?.at_least_one;
  if (atLeastOne && !atLeastOne.some((n) => n in value)) {
    problems.push(`${where}: needs at least one of ${atLeastOne.join(', ')}`);
  }
}

// Returns the problems of one event (empty when it conforms).
export function validate(event) {
  const problems = [];
  const file = classFiles[event.class_uid];
  if (!file) return [`class_uid ${event.class_uid} is not one warden emits`];
  const definition = merged(read(file), eventParent);
  const cls = definition.chain.at(-1);
  const category = categories[definition.chain.findLast((d) => d.category)?.category];
  if (event.category_uid !== category?.uid) problems.push(`category_uid ${event.category_uid} ≠ ${category?.uid}`);
  if (event.class_uid !== category.uid * 1000 + cls.uid) problems.push(`class_uid ≠ category·1000 + ${cls.uid}`);
  if (event.type_uid !== event.class_uid * 100 + event.activity_id) problems.push('type_uid ≠ class_uid·100 + activity_id');
  const activity = definition.attributes.activity_id;
  // The class's activities plus the dictionary's Unknown (0) and Other (99).
  activity.enum = { ...dictionary.attributes.activity_id.enum, ...(activity.enum ?? {}) };
  if (event.activity_id === 99 && !event.activity_name) problems.push('activity Other (99) without activity_name');
  // Their values are checked above, against the class (the dictionary's enum holds only 0).
  for (const name of ['class_uid', 'category_uid', 'type_uid']) {
    definition.attributes[name] = { ...definition.attributes[name], enum: undefined };
  }
  for (const name of ['class_uid', 'category_uid', 'type_uid']) {
    if (!Number.isInteger(event[name])) problems.push(`${name} must be an integer`);
  }
  checkObject(Object.fromEntries(Object.entries(event).filter(([k]) => !['class_uid', 'category_uid', 'type_uid'].includes(k))),
    { ...definition, attributes: Object.fromEntries(Object.entries(definition.attributes)
      .filter(([k]) => !['class_uid', 'category_uid', 'type_uid'].includes(k))) },
    cls.name, problems, event.metadata?.profiles ?? []);
  return problems;
}
