// validate.mjs - checks Kubernetes objects offline, two ways, and prints what is wrong.
//
// stdin: a JSON array of {"source": "file#N", "doc": {...}} (the YAML documents,
// parsed by the caller). stdout: a JSON array of {"source", "errors": [...]}, one per
// input, in order; an object is valid when its errors are empty.
//
//  1. The API's schema: kubernetes-models holds the Kubernetes OpenAPI definitions
//     (and @kubernetes-models/prometheus-operator the operator's CRD schemas) compiled
//     with ajv: types, enums, required fields, formats. An apiVersion/kind with no
//     schema here is an error, never a pass.
//  2. No unknown fields: the OpenAPI schemas allow any extra property, as the API
//     server's lenient decoding does, so a misspelt `readinesProbe` would pass (1)
//     and be dropped by the cluster without a word. TypeScript's excess-property
//     check against the same packages' type declarations catches it.
//
// Run from the directory where tests/k8s/package.json was installed (npm ci).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

// The packages' module paths by API group: core is "v1", others "group/version".
function modelModule(apiVersion, kind) {
	if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z]+$/.test(kind))
		return null;
	if (apiVersion.startsWith("monitoring.coreos.com/"))
		return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
	if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
	return `kubernetes-models/${apiVersion}/${kind}`;
}

function describe(e) {
	const where = e.instancePath || "/";
	let what = e.message || e.keyword;
	if (e.params?.allowedValues) what += ` (${e.params.allowedValues.join(", ")})`;
	return `${where}: ${what}`;
}

async function schemaErrors(doc) {
	const mod = modelModule(doc?.apiVersion, doc?.kind);
	if (!mod) return [`no apiVersion/kind to validate against (${doc?.apiVersion} ${doc?.kind})`];
	let model;
	try {
		model = (await import(mod))[doc.kind];
	} catch {
		return [`no schema for apiVersion ${doc.apiVersion}, kind ${doc.kind} (${mod})`];
	}
	try {
		new model(doc).validate();
	} catch (err) {
		if (!err.errors) throw err;
		return [...new Set(err.errors.map(describe))];
	}
	return [];
}

// One line of TypeScript per object, so a diagnostic's line names the object.
function strictErrors(items) {
	const dir = mkdtempSync(join(process.cwd(), ".strict-"));
	const lines = items.map((it, i) => {
		const mod = modelModule(it.doc?.apiVersion, it.doc?.kind);
		if (!mod) return "";
		return `import type { I${it.doc.kind} as T${i} } from "${mod}"; ` +
			`export const d${i}: T${i} = ${JSON.stringify(it.doc)};`;
	});
	const file = join(dir, "manifests.ts");
	writeFileSync(file, lines.join("\n") + "\n");
	const program = ts.createProgram([file], {
		strict: true,
		noEmit: true,
		module: ts.ModuleKind.NodeNext,
		moduleResolution: ts.ModuleResolutionKind.NodeNext,
		skipLibCheck: true,
		types: [],
	});
	const out = items.map(() => []);
	for (const d of ts.getPreEmitDiagnostics(program)) {
		const msg = ts.flattenDiagnosticMessageText(d.messageText, " ");
		if (!d.file || d.file.fileName !== file) {
			out.forEach((o) => o.push(`typescript setup: ${msg}`)); // not the objects' fault
			continue;
		}
		const { line } = d.file.getLineAndCharacterOfPosition(d.start);
		out[line].push(`typescript: ${msg}`);
	}
	rmSync(dir, { recursive: true, force: true });
	return out;
}

const items = JSON.parse(readFileSync(0, "utf8"));
const strict = strictErrors(items);
const result = [];
for (const [i, it] of items.entries()) {
	result.push({ source: it.source, errors: [...(await schemaErrors(it.doc)), ...strict[i]] });
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
