// What a newcomer copies from the README and docs/ holds: every TypeScript block type-checks
// under `tsc --strict` with the package and the peers it names, the whole apps among them run
// against a real server, the package carries every file the docs link to, and no figure is
// typed by hand. A block whose first line is a `// Fragment` comment says what it assumes;
// it is checked with those names declared (FRAGMENT_CONTEXT). Any other block is a whole
// program and must compile alone.

import {type ChildProcess, execFileSync, spawn} from "node:child_process"
import {mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from "node:fs"
import {tmpdir} from "node:os"
import {join} from "node:path"
import {fileURLToPath} from "node:url"
import ts from "typescript"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {freePort, type RedisServer, startRedisServer} from "./support/redis-servers.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`)]

interface Block {
  /** page:line, for messages. */
  where: string
  page: string
  code: string
  fragment: boolean
}

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(ROOT, page), "utf8").split("\n")
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```ts") continue
    const end = lines.indexOf("```", i + 1)
    const code = lines.slice(i + 1, end).join("\n")
    blocks.push({
      where: `${page}:${i + 1}`,
      page,
      code,
      fragment: code.startsWith("// Fragment"),
    })
    i = end
  }
  return blocks
}

const BLOCKS = PAGES.flatMap(blocksOf)

/** The file a block is written to: its page and line, as a name. */
const fileOf = (block: Block) => `${block.where.replace(/[/.:]/g, "_")}.ts`

/** What fragments assume: the quick start's names, and the session fields the docs use. */
const FRAGMENT_CONTEXT = `import type {Express} from "express"
import type {createClient} from "redis"
import type {RedisStore} from "redis-session-store"

declare global {
  const client: ReturnType<typeof createClient>
  const store: RedisStore
  const app: Express
}

declare module "express-session" {
  interface SessionData {
    userId: number
    device: string
    user: {id: number; name: string}
  }
}
`

/** A folder outside the repository that resolves packages as the repository does. */
function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "doc-blocks-"))
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir")
  writeFileSync(join(dir, "package.json"), JSON.stringify({type: "module"}))
  // tsx reads the same mapping when a block runs: the package name is the source here.
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        skipLibCheck: true,
        types: ["node"],
        paths: {"redis-session-store": [join(ROOT, "src/index.ts")]},
      },
    }),
  )
  return dir
}

/** tsc --strict over `files` (names in `dir`): the messages, by file. */
function typeCheck(dir: string, files: string[]): Map<string, string[]> {
  const config = ts.readConfigFile(join(dir, "tsconfig.json"), ts.sys.readFile).config
  const {options} = ts.parseJsonConfigFileContent(config, ts.sys, dir)
  const program = ts.createProgram(
    files.map((file) => join(dir, file)),
    {...options, noEmit: true},
  )
  const found = new Map<string, string[]>()
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName.replace(`${dir}/`, "") ?? "(program)"
    const line = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    found.set(file, [...(found.get(file) ?? []), `line ${(line ?? 0) + 1}: ${text}`])
  }
  return found
}

describe("docs: every TypeScript block compiles under --strict", () => {
  let dir: string
  let wholeErrors: Map<string, string[]>
  let fragmentErrors: Map<string, string[]>

  beforeAll(() => {
    dir = scratchProject()
    // The OpenTelemetry example is a file the docs tell readers to copy beside their code.
    writeFileSync(
      join(dir, "opentelemetry.ts"),
      readFileSync(join(ROOT, "examples/opentelemetry.ts"), "utf8"),
    )
    for (const block of BLOCKS) {
      // A fragment without imports would be a script, where top-level await is refused.
      writeFileSync(
        join(dir, fileOf(block)),
        block.fragment ? `${block.code}\nexport {}\n` : block.code,
      )
    }
    writeFileSync(join(dir, "fragment-context.ts"), FRAGMENT_CONTEXT)
    // Whole programs alone (the context would hide a name they forgot to declare).
    wholeErrors = typeCheck(dir, BLOCKS.filter((block) => !block.fragment).map(fileOf))
    fragmentErrors = typeCheck(dir, [
      "fragment-context.ts",
      ...BLOCKS.filter((block) => block.fragment).map(fileOf),
    ])
  }, 120_000)
  afterAll(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it("finds the blocks: whole programs and fragments", () => {
    expect(BLOCKS.filter((block) => !block.fragment).length).toBeGreaterThanOrEqual(5)
    expect(BLOCKS.filter((block) => block.fragment).length).toBeGreaterThanOrEqual(5)
    expect(blocksOf("README.md")[0]?.fragment).toBe(false)
  })

  it.each(BLOCKS.map((block) => [block.where, block] as const))("%s", (_, block) => {
    const errors = (block.fragment ? fragmentErrors : wholeErrors).get(fileOf(block)) ?? []
    expect(errors).toEqual([])
  })

  it("nothing else in the programs fails (the copied OpenTelemetry example)", () => {
    // The package's own source is checked by the project's stricter settings (npm run
    // typecheck); a reader compiles against its declarations, with skipLibCheck.
    const elsewhere = [...wholeErrors, ...fragmentErrors].filter(
      ([file]) => !BLOCKS.some((block) => fileOf(block) === file) && !file.startsWith(ROOT),
    )
    expect(elsewhere).toEqual([])
  })
})

describe("docs: the whole apps run as shown", () => {
  let server: RedisServer
  let dir: string
  const running: ChildProcess[] = []

  beforeAll(async () => {
    server = await startRedisServer()
    dir = scratchProject()
  })
  afterAll(async () => {
    for (const child of running) child.kill("SIGKILL")
    if (dir) rmSync(dir, {recursive: true, force: true})
    await server?.stop()
  })

  /** Starts a block as a reader would (tsx), resolving once it says it listens, or exits. */
  function start(block: Block, env: NodeJS.ProcessEnv) {
    const file = join(dir, fileOf(block))
    writeFileSync(file, block.code)
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: dir,
      env: {...process.env, ...env},
    })
    running.push(child)
    let output = ""
    const collect = (chunk: Buffer) => {
      output += chunk
    }
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    return new Promise<{listening: boolean; code: number | null; output: string}>((resolve) => {
      child.stdout.on("data", () => {
        if (output.includes("listening on")) resolve({listening: true, code: null, output})
      })
      child.on("exit", (code) => resolve({listening: false, code, output}))
    })
  }

  const apps = BLOCKS.filter((block) => !block.fragment && block.code.includes(".listen("))

  it("finds the apps: the README's quick start and the Fastify example", () => {
    expect(apps.map((block) => block.page)).toEqual(["README.md", "docs/clients.md"])
  })

  it.each(apps.map((block) => [block.where, block] as const))(
    "%s: counts a browser's views over http://localhost, its session in Redis",
    async (_, block) => {
      const port = await freePort()
      const keysBefore = Number(await server.command("DBSIZE"))
      const started = await start(block, {
        REDIS_URL: server.url,
        SESSION_SECRET: "a session secret of at least thirty-two characters",
        PORT: String(port),
      })
      expect(started.output).toContain(`listening on http://localhost:${port}`)
      // A browser: whatever cookie the app sets goes back with the next request.
      const first = await fetch(`http://localhost:${port}/`)
      const cookie = first.headers.getSetCookie()[0]?.split(";")[0]
      expect(first.status).toBe(200)
      expect(cookie).toBeDefined()
      const second = await fetch(`http://localhost:${port}/`, {headers: {cookie: cookie ?? ""}})
      expect(await second.text()).toMatch(/(views: 2|"views":2)/)
      expect(await server.command("DBSIZE")).toBe(keysBefore + 1)
    },
  )

  it("the quick start without SESSION_SECRET: stops at once, saying what to set", async () => {
    const quickStart = apps[0] as Block
    const env = {REDIS_URL: server.url, SESSION_SECRET: "", PORT: String(await freePort())}
    const outcome = await start(quickStart, env)
    expect(outcome.listening).toBe(false)
    expect(outcome.code).not.toBe(0)
    expect(outcome.output).toContain("Set SESSION_SECRET")
  })
})

describe("the package a newcomer installs", () => {
  /** Relative links of a page, as paths from the package root. */
  function linksOf(page: string): string[] {
    const text = readFileSync(join(ROOT, page), "utf8")
    const base = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : ""
    return [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target) => new URL(target, `file:///${base}`).pathname.slice(1))
  }

  it("carries every file the README and docs link to", () => {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: ROOT,
        encoding: "utf8",
      }),
    ) as [{files: {path: string}[]}]
    const files = new Set(packed[0].files.map((file) => file.path))
    const linked = new Set(PAGES.flatMap(linksOf))
    expect(linked.size).toBeGreaterThan(10)
    expect([...linked].filter((path) => !files.has(path))).toEqual([])
  })

  it("has a README a newcomer reads: under 15,000 characters, install and quick start first", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8")
    expect(readme.length).toBeLessThan(15_000)
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((match) => match[1])
    expect(headings.slice(0, 2)).toEqual(["Install", "Quick start"])
  })

  it("quotes no figure typed by hand: performance figures live in bench/RESULTS.md", () => {
    const typed = PAGES.flatMap((page) =>
      readFileSync(join(ROOT, page), "utf8")
        .split("\n")
        .filter((line) => /\d[\d,.]*\s?(ns|µs)\b|\d\.\d+\s?×/.test(line))
        .map((line) => `${page}: ${line.trim()}`),
    )
    expect(typed).toEqual([])
  })
})
