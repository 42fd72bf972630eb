// A stand-in of the ruvector-postgres extension for PGlite, built from pgvector's C functions: an
// extension named `ruvector` with a type `ruvector` of pgvector's binary layout (a varlena with an
// int16 dimension, 2 unused bytes, then float4 values: ruvector's own layout too, notes/ruvector.md
// §1.3), the text form `[1,2,3]`, `ruvector_dims`, `<=>` returning `real` as ruvector's does, and
// the `hnsw` access method with the `ruvector_cosine_ops` opclass. It proves that our ruvector
// dialect's names, types, operators and DDL resolve and run; it does not reproduce ruvector's
// engine (its HNSW ignores options, caps a scan at 100 candidates, its typmod is not enforced:
// that behaviour is what the dialect plans around and what only the real image can show).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Extension } from '@electric-sql/pglite';

/** The extension script: every C function comes from pgvector's library, under ruvector's names. */
export const RUVECTOR_STANDIN_SQL = `-- ruvector stand-in (test only): pgvector's C functions under ruvector's SQL surface
CREATE TYPE ruvector;
CREATE FUNCTION ruvector_in(cstring, oid, integer) RETURNS ruvector AS '$libdir/vector', 'vector_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_out(ruvector) RETURNS cstring AS '$libdir/vector', 'vector_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_typmod_in(cstring[]) RETURNS integer AS '$libdir/vector', 'vector_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_recv(internal, oid, integer) RETURNS ruvector AS '$libdir/vector', 'vector_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_send(ruvector) RETURNS bytea AS '$libdir/vector', 'vector_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ruvector (INPUT = ruvector_in, OUTPUT = ruvector_out, TYPMOD_IN = ruvector_typmod_in, RECEIVE = ruvector_recv, SEND = ruvector_send, STORAGE = extended, ALIGNMENT = double);
CREATE FUNCTION ruvector_dims(ruvector) RETURNS integer AS '$libdir/vector', 'vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_norm_f8(ruvector) RETURNS float8 AS '$libdir/vector', 'vector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cosine_distance_f8(ruvector, ruvector) RETURNS float8 AS '$libdir/vector', 'cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_negative_inner_product_f8(ruvector, ruvector) RETURNS float8 AS '$libdir/vector', 'vector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- ruvector's distance functions return real (plpgsql: a SQL body would be inlined, and the planner
-- would no longer see the operator an index can order by)
CREATE FUNCTION ruvector_cosine_distance(a ruvector, b ruvector) RETURNS real LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$ BEGIN RETURN ruvector_cosine_distance_f8(a, b)::real; END $f$;
CREATE FUNCTION ruvector_norm(a ruvector) RETURNS real LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$ BEGIN RETURN ruvector_norm_f8(a)::real; END $f$;
CREATE FUNCTION ruvector_version() RETURNS text LANGUAGE sql IMMUTABLE RETURN '0.3.0 (test stand-in on pgvector)';
CREATE OPERATOR <=> (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_cosine_distance, COMMUTATOR = '<=>');
CREATE FUNCTION ruvector_hnsw_handler(internal) RETURNS index_am_handler AS '$libdir/vector', 'hnswhandler' LANGUAGE C;
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER ruvector_hnsw_handler;
CREATE OPERATOR CLASS ruvector_cosine_ops FOR TYPE ruvector USING hnsw AS
  OPERATOR 1 <=> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_negative_inner_product_f8(ruvector, ruvector),
  FUNCTION 2 ruvector_norm_f8(ruvector);
`;

/** A PGlite extension bundle holding the stand-in's control file and script (pgvector's bundle provides the library). */
export function ruvectorStandinExtension(): Extension {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-ruvector-standin-'));
  const ext = join(dir, 'share', 'postgresql', 'extension');
  mkdirSync(ext, { recursive: true });
  writeFileSync(join(ext, 'ruvector.control'), "comment = 'ruvector stand-in (pgvector C functions)'\ndefault_version = '0.3.0'\nrelocatable = false\nsuperuser = false\ntrusted = true\n");
  writeFileSync(join(ext, 'ruvector--0.3.0.sql'), RUVECTOR_STANDIN_SQL);
  const bundle = join(dir, 'ruvector.tar.gz');
  execFileSync('tar', ['-czf', bundle, '-C', dir, 'share']);
  return { name: 'ruvector', setup: async (_pg, emscriptenOpts) => ({ emscriptenOpts, bundlePath: pathToFileURL(bundle) }) };
}
