// The tests' workspace builder is the demo's sample-workspace generator (one implementation).
export * from '../../uploader/demo/sample-workspace.js';
