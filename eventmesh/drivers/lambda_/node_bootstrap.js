// eventmesh's Node.js runtime: the loop of a Lambda runtime interface client, against the Runtime API.
//
// Loads the handler named by _HANDLER ("index.handler", "src/app.main") from LAMBDA_TASK_ROOT
// (CommonJS with require; .mjs or "type": "module" with import()), then for each event from
// GET /2018-06-01/runtime/invocation/next calls it with (event, context, callback): an async
// handler's promise, a callback or context.succeed/fail/done settle the invocation, whose result
// is POSTed to .../response or, for an error, {errorType, errorMessage, trace} to .../error.
// A handler that cannot be loaded is reported to /init/error as Runtime.ImportModuleError or
// Runtime.HandlerNotFound. console.log/info/warn/error/debug write Lambda's text format:
// "<ISO time>\t<request id>\t<LEVEL>\t<message>" (a multi-line message stays one entry: "\r").
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html
"use strict";

const http = require("http");
const path = require("path");
const fs = require("fs");
const util = require("util");
const { pathToFileURL } = require("url");

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const [HOST, PORT] = API.split(":");
const PREFIX = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let currentRequestId = "";

function request(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request({
      host: HOST, port: Number(PORT), path: PREFIX + route, method, agent,
      headers: Object.assign(data ? { "Content-Type": "application/json", "Content-Length": data.length } : {},
        headers || {}),
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

function patchConsole() {
  const write = (level) => (...args) => {
    const text = util.format(...args).replace(/\n/g, "\r");
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || "undefined"}\t${level}\t${text}\n`);
  };
  console.log = write("INFO");
  console.info = write("INFO");
  console.warn = write("WARN");
  console.error = write("ERROR");
  console.debug = write("DEBUG");
  console.trace = write("TRACE");
}

function errorObject(err) {
  if (err instanceof Error) {
    return { errorType: err.name || "Error", errorMessage: err.message || "",
      trace: String(err.stack || "").split("\n") };
  }
  return { errorType: "string", errorMessage: String(err), trace: [] };
}

function isModule(file) {
  if (file.endsWith(".mjs")) return true;
  if (file.endsWith(".cjs")) return false;
  let dir = path.dirname(file);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try { return JSON.parse(fs.readFileSync(pkg, "utf8")).type === "module"; } catch (_) { return false; }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  const moduleName = spec.slice(0, dot);
  const names = spec.slice(dot + 1).split(".");
  const base = path.resolve(root, moduleName);
  if (dot <= 0 || !base.startsWith(path.resolve(root) + path.sep)) {
    throw Object.assign(new Error(`Bad handler ${spec}`), { name: "Runtime.MalformedHandlerName" });
  }
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) {
    throw Object.assign(new Error(`Error: Cannot find module '${moduleName}'`), { name: "Runtime.ImportModuleError" });
  }
  let mod;
  try {
    mod = isModule(file) ? await import(pathToFileURL(file).href) : require(file);
  } catch (err) {
    throw Object.assign(new Error(`${err.name}: ${err.message}`), { name: "Runtime.ImportModuleError" });
  }
  let fn = mod;
  for (const name of names) fn = fn == null ? undefined : fn[name];
  if (typeof fn !== "function") {
    throw Object.assign(new Error(`${moduleName}.${names.join(".")} is undefined or not exported`),
      { name: "Runtime.HandlerNotFound" });
  }
  return fn;
}

function invoke(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err); else resolve(result);
    };
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err === undefined ? new Error("handled") : err);
    context.done = done;
    try {
      const out = handler(event, context, done);
      if (out && typeof out.then === "function") out.then((r) => done(null, r), (e) => done(e));
      else if (handler.length < 3) done(null, out);
    } catch (err) {
      done(err);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const body = JSON.stringify(errorObject(err));
    console.error(`${err.name}: ${err.message}`);
    await request("POST", "/init/error", body, { "Lambda-Runtime-Function-Error-Type": err.name });
    process.exit(1);
  }
  for (;;) {
    const next = await request("GET", "/invocation/next");
    if (next.status !== 200) process.exit(0);
    const id = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
    currentRequestId = id;
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] || "";
    const context = {
      awsRequestId: id,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let event;
    try {
      event = JSON.parse(next.body.toString("utf8") || "{}");
    } catch (err) {
      await request("POST", `/invocation/${id}/error`, JSON.stringify(errorObject(err)),
        { "Lambda-Runtime-Function-Error-Type": "Runtime.UnmarshalError" });
      continue;
    }
    try {
      const result = await invoke(handler, event, context);
      await request("POST", `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      const error = errorObject(err);
      console.error(`Invoke Error \t${JSON.stringify(error)}`);
      await request("POST", `/invocation/${id}/error`, JSON.stringify(error),
        { "Lambda-Runtime-Function-Error-Type": error.errorType });
    }
  }
}

main().catch((err) => {
  process.stderr.write(`eventmesh node bootstrap failed: ${err && err.stack}\n`);
  process.exit(1);
});
