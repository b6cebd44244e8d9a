#!/usr/bin/env bash
# Lint the Jenkinsfile offline with npm-groovy-lint (the Groovy parser and CodeNarc, on Java).
#
# Fails (exit 1) when the Jenkinsfile has an error: a Groovy syntax error or an error-level rule.
# Warnings and infos are printed, not fatal. Every run also lints a deliberately broken copy in
# the same JVM and fails if that copy is NOT reported: a linter that stopped parsing must not pass.
#
# Needs node >= 20 and java >= 17 on PATH. Installs npm-groovy-lint itself into .ci/.npm (from
# the npm registry, at install time only). At run time nothing leaves the machine: no CodeNarc
# server (--noserver), no usage statistics (opt-in, left off), the local java (no JRE download),
# and where `unshare -n` works (root on Linux) the linter runs in a namespace with no network.
#
# Usage: .ci/lint_jenkinsfile.sh [path/to/Jenkinsfile]
set -euo pipefail

VERSION=16.2.0 # the last npm-groovy-lint release that supports Node 20 (17+ needs Node 22)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.ci/.npm"
PACKAGE="$PREFIX/node_modules/npm-groovy-lint"
FILE="$(realpath "${1:-$ROOT/Jenkinsfile}")"

for tool in node npm java; do
    command -v "$tool" >/dev/null || { echo "lint_jenkinsfile: '$tool' is not on PATH" >&2; exit 1; }
done
[ -f "$FILE" ] || { echo "lint_jenkinsfile: no such file: $FILE" >&2; exit 1; }

installed="$(node -p "require('$PACKAGE/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$VERSION" ]; then
    echo "lint_jenkinsfile: installing npm-groovy-lint@$VERSION into .ci/.npm"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "npm-groovy-lint@$VERSION" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/checked" "$work/broken"
cp "$FILE" "$work/checked/Jenkinsfile"
{ cat "$FILE"; printf '\npipeline {\n'; } >"$work/broken/Jenkinsfile" # an unclosed block
cat >"$work/.groovylintrc.json" <<'EOF'
{
  "extends": "recommended-jenkinsfile",
  "rules": {
    "DuplicateStringLiteral": "off",
    "DuplicateNumberLiteral": "off",
    "UnnecessaryObjectReferences": "off"
  }
}
EOF

isolate=()
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    isolate=(unshare -n)
fi

status=0
(cd "$work" && "${isolate[@]}" node "$PACKAGE/lib/index.js" --noserver --javaexecutable "$(command -v java)" \
    --config "$work" --output json --failon error checked broken >"$work/result.json" 2>"$work/stderr.txt") || status=$?

node - "$work" "$FILE" "$status" <<'EOF'
const fs = require("fs");
const path = require("path");
const [work, file, status] = process.argv.slice(2);
let result;
try {
    result = JSON.parse(fs.readFileSync(path.join(work, "result.json"), "utf8"));
} catch (e) {
    console.error(`lint_jenkinsfile: npm-groovy-lint gave no result (exit ${status}):`);
    console.error(fs.readFileSync(path.join(work, "stderr.txt"), "utf8"));
    process.exit(1);
}
const issues = (name) => {
    const key = Object.keys(result.files || {}).find((k) => k.endsWith(path.join(name, "Jenkinsfile")));
    return key ? result.files[key].errors || [] : null;
};
const checked = issues("checked");
const broken = issues("broken");
if (checked === null || broken === null) {
    console.error("lint_jenkinsfile: npm-groovy-lint did not lint both files:", Object.keys(result.files || {}));
    process.exit(1);
}
for (const issue of checked) {
    console.log(`${file}:${issue.line}: ${issue.severity} ${issue.rule}: ${issue.msg.split("\n")[0]}`);
}
const count = (severity) => checked.filter((issue) => issue.severity === severity).length;
console.log(`lint_jenkinsfile: ${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info(s)`);
if (!broken.some((issue) => issue.severity === "error")) {
    console.error("lint_jenkinsfile: the broken copy was not reported: the linter is not checking syntax");
    process.exit(1);
}
process.exit(count("error") > 0 ? 1 : 0);
EOF
