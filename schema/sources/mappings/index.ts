// The source → target mappings and the value helpers they use (pure; see SOURCES.md).
export * from './json-document.js';
export * from './json-mappings.js';
export * from './map-context.js';
export * from './row-builder.js';
export * from './row-identity.js';
export * from './sqlite-mappings.js';
export * from './values.js';
