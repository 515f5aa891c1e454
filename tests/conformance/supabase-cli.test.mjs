// Conformance: the official Supabase CLI reads this repository's layout (`supabase/config.toml`,
// `supabase/migrations` linked to `migrations/`, the seed) and shares the local stack's migration
// ledger. Run by `cargo xtask test` against the database it prepared with the devstack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

const databaseUrl = process.env.STACK_DATABASE_URL;
const devstack = process.env.STACK_DEVSTACK_BIN;
assert.ok(databaseUrl && devstack, "run with `cargo xtask test`");
const root = process.cwd();
const cli = join(root, "node_modules/supabase/dist/supabase.js");

/** Run the CLI from the repository root; its output (stdout and stderr), which must say it finished. */
function supabase(...args) {
  const run = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    timeout: 120_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, `supabase ${args.join(" ")} failed:\n${output}`);
  return output;
}

/** `devstack prepare --no-seed` on `url`; its standard output. */
function prepare(url) {
  return execFileSync(devstack, ["prepare", "--no-seed"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DEVSTACK_DATABASE_URL: url, DEVSTACK_ROOT: root },
  });
}

const versions = readdirSync(join(root, "migrations")).map((file) => file.slice(0, 14)).sort();

async function ledger(url) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { rows } = await db.query("select version, name, statements from supabase_migrations.schema_migrations order by version");
    return rows;
  } finally {
    await db.end();
  }
}

/** Run `body` with the URL of a new database holding what a hosted project has before any
 * migration (Supabase's own objects), dropped afterwards. */
async function withBareProject(name, body) {
  const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]+$/, "/postgres") });
  await admin.connect();
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.query(`create database "${name}"`);
  const url = databaseUrl.replace(/\/[^/]+$/, `/${name}`);
  try {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    for (const file of ["bootstrap.sql", "realtime.sql"]) {
      await db.query(readFileSync(join(root, "devstack/sql", file), "utf8"));
    }
    await db.end();
    await body(url);
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

test("the CLI finds every migration and the seed, and sees the devstack's database as up to date", () => {
  const list = supabase("migration", "list", "--db-url", databaseUrl);
  for (const version of versions) {
    assert.match(list, new RegExp(`${version}\\S*\\s*\\|\\s*\\S*${version}`), `${version} local and remote`);
  }
  const push = supabase("db", "push", "--dry-run", "--include-seed", "--db-url", databaseUrl);
  assert.match(push, /Would seed these files:\s*\n\s*•\s*devstack\/sql\/seed\.sql/);
  assert.doesNotMatch(push, /Would push these migrations/);
  assert.match(supabase("db", "push", "--dry-run", "--db-url", databaseUrl), /Remote database is up to date/);
});

test("a database pushed by the CLI has the devstack's ledger, and the devstack applies nothing again", async () => {
  const expected = await ledger(databaseUrl);
  assert.deepEqual(expected.map((row) => row.version), versions);
  await withBareProject(`chat_cli_${process.pid}`, async (url) => {
    const pushed = supabase("db", "push", "--yes", "--db-url", url);
    assert.match(pushed, new RegExp(`Applying migration ${versions.at(-1)}_`));
    assert.deepEqual(await ledger(url), expected, "same versions, names and statements");

    assert.match(prepare(url), new RegExp(`migrations: 0 applied, ${versions.length} already applied`));
    assert.deepEqual(await ledger(url), expected);
  });
});

test("a landed migration edited afterwards is refused by the devstack", async () => {
  await withBareProject(`chat_edit_${process.pid}`, async (url) => {
    supabase("db", "push", "--yes", "--db-url", url);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(
      "update supabase_migrations.schema_migrations set statements = statements || array['select 1'] where version = $1",
      [versions[0]],
    );
    await db.end();
    let failure;
    try {
      prepare(url);
    } catch (error) {
      failure = error;
    }
    assert.ok(failure, "prepare must fail");
    assert.match(failure.stderr, new RegExp(`migration ${versions[0]}_\\w+ was edited after this database applied it`));
  });
});
