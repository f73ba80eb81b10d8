#!/usr/bin/env bash
# check-layers: SEV's layering rules, checked on the source and on the built objects.
#   1. includes: every #include "m/…" in src/<module>/ names the module itself or one it may
#      use (the table below, which mirrors docs/architecture.md's module map); a module that
#      includes a top-level header (app.h, app_int.h) reaches up to the app.
#   2. calls: every function an object of src/<module>/ calls by name (nm: undefined symbols)
#      and another module's object defines belongs to a module it may use.
#   3. loops: no two modules, and no two files, call each other in a loop (directly or
#      through others): the strongly connected parts of the module and file call graphs.
#   4. base's libraries: src/base/ includes only the C library, libuv (base/defer: the one way
#      to run something on a later loop turn) and OpenSSL (random bytes); no JSON, database,
#      HTTP or other library reaches base.
# Output is TAP ("ok N - …" / "not ok N - …", one line per violation after a failing check,
# then "# pass N" / "# fail N"), which scripts/test.sh adds up. Needs the objects of a build:
# BUILD=build (default) or build-asan. Shell, awk and nm (binutils) only.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

# module: the modules it may use (base is allowed everywhere; "*" = every module).
# Keep in step with the module map in docs/architecture.md. base's own libraries: BASE_LIBS.
RULES='
base:
config: base
event: base
ws: base
http: base ws
store: base event
bus: base event store
cluster: base
twitch: base
streams: base event twitch
hub: base event http ws store bus
ingest: base event store bus
auth: base store twitch
eventsub: base event http ws ingest twitch
api: base config event ws http store bus cluster twitch streams hub ingest auth eventsub pages
pages: base config event ws http store bus cluster twitch streams hub ingest auth eventsub
app: *
'

# The system headers src/base/ may include (besides the C library's <name.h>, <sys/…>):
BASE_LIBS='uv.h openssl/'

n=0 pass=0 fail=0
report() { # ok(0/1), title, details (one violation a line, may be empty)
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok $n - $2"
    else
        fail=$((fail + 1)); echo "not ok $n - $2"
        printf '%s\n' "$3" | sed '/^$/d; s/^/#   /'
    fi
}

# The module of a path under src/: its first directory, or "app" for top-level files.
module_awk='function module_of(p) { sub(/^.*src\//, "", p); return (p ~ /\//) ? substr(p, 1, index(p, "/") - 1) : "app" }'

# 1. includes
includes=$(grep -rnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' src --include='*.c' --include='*.h' |
    awk -v rules="$RULES" "$module_awk"'
    BEGIN {
        n = split(rules, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (lines[i] !~ /:/) continue
            m = lines[i]; sub(/:.*/, "", m); rest = lines[i]; sub(/^[^:]*:/, "", rest)
            known[m] = 1; allow[m, m] = 1; allow[m, "base"] = 1
            k = split(rest, deps, " ")
            for (j = 1; j <= k; j++) { if (deps[j] == "*") any[m] = 1; else allow[m, deps[j]] = 1 }
        }
    }
    {
        split($0, f, ":"); file = f[1]; line = f[2]
        inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
        from = module_of(file)
        to = (inc ~ /\//) ? substr(inc, 1, index(inc, "/") - 1) : (inc ~ /^(app|main)/ ? "app" : "")
        if (to == "") next                      # a header of its own directory ("unit.h" style)
        if (!(from in known)) { print file ":" line ": module " from " is not in the table"; next }
        if (any[from] || allow[from, to]) next
        print file ":" line ": " from " includes \"" inc "\" (" from " may not use " to ")"
    }')
report "$([ -z "$includes" ] && echo 0 || echo 1)" "includes follow the module map" "$includes"

# 4 (checked here, on the source): a <…/…> or a non-libc <….h> in base names a library.
base_libs=$(grep -rnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' src/base |
    awk -v libs="$BASE_LIBS" '
    BEGIN { k = split(libs, ok, " ") }
    {
        h = $0; sub(/^[^<]*</, "", h); sub(/>.*$/, "", h)
        for (i = 1; i <= k; i++) if (index(h, ok[i]) == 1) next
        if (h ~ /^sys\// || h ~ /^(assert|ctype|errno|inttypes|limits|math|pthread|signal|stdarg|stdatomic|stdbool|stddef|stdint|stdio|stdlib|string|strings|time|unistd|fcntl)\.h$/) next
        split($0, f, ":"); print f[1] ":" f[2] ": base includes <" h "> (base may use the C library, " libs ")"
    }')

# 2 and 3 need the objects.
# (objects whose source is gone, left by an older build, are not counted)
objs=$(find "$BUILD/obj/src" -name '*.o' 2>/dev/null | sort | while read -r o; do
    s=${o#"$BUILD/obj/"}; [ -f "${s%.o}.c" ] && echo "$o"; done)
if [ -z "$objs" ]; then
    report 1 "calls follow the module map" "no objects under $BUILD/obj/src: run make first"
    report 1 "no two modules call each other in a loop" ""
    report 1 "no two files call each other in a loop" ""
else
    # "D file symbol" for every function or object a file defines, "U file symbol" for every
    # one it uses; edges "from to" between files (to defines what from uses).
    syms=$(for o in $objs; do
        f=${o#"$BUILD/obj/"}; f=${f%.o}.c
        nm --defined-only -g "$o" | awk -v f="$f" 'NF == 3 && $2 ~ /[TDBR]/ { print "D", f, $3, ($2 == "T" ? "fn" : "data") }'
        nm -u "$o" | awk -v f="$f" '{ print "U", f, $NF }'
    done)
    edges=$(printf '%s\n' "$syms" | awk '
        $1 == "D" { def[$3] = $2; kind[$3] = $4; next }
        { use[NR] = $2 " " $3 }
        END { for (i in use) { split(use[i], u, " "); if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]], u[2], kind[u[2]] } }' |
        sort -u)

    calls=$(printf '%s\n' "$edges" | awk -v rules="$RULES" "$module_awk"'
    BEGIN {
        n = split(rules, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (lines[i] !~ /:/) continue
            m = lines[i]; sub(/:.*/, "", m); rest = lines[i]; sub(/^[^:]*:/, "", rest)
            allow[m, m] = 1; allow[m, "base"] = 1
            k = split(rest, deps, " ")
            for (j = 1; j <= k; j++) { if (deps[j] == "*") any[m] = 1; else allow[m, deps[j]] = 1 }
        }
    }
    NF == 4 {
        from = module_of($1); to = module_of($2)
        if (any[from] || allow[from, to]) next
        print $1 " uses " $3 ($4 == "fn" ? "()" : "") " of " $2 " (" from " may not use " to ")"
    }' | sort)
    report "$([ -z "$calls" ] && echo 0 || echo 1)" "calls follow the module map" "$calls"

    # Loops: nodes that reach each other form one loop (a strongly connected part).
    loops_of() { # reads "from to" edges; prints each loop as "a ⇄ b ⇄ c"
        awk '
        NF >= 2 && $1 != $2 { if (!seen[$1, $2]++) { adj[$1] = adj[$1] " " $2 }; node[$1] = 1; node[$2] = 1 }
        END {
            for (s in node) {                   # reach[s, t]: t reachable from s (BFS)
                delete q; head = 1; tail = 1; q[1] = s; delete vis; vis[s] = 1
                while (head <= tail) {
                    k = split(adj[q[head++]], nb, " ")
                    for (j = 1; j <= k; j++) if (!vis[nb[j]]) { vis[nb[j]] = 1; q[++tail] = nb[j]; reach[s, nb[j]] = 1 }
                }
            }
            for (s in node) {
                if (done[s]) continue
                group = s; c = 1
                for (t in node) if (t != s && reach[s, t] && reach[t, s]) { group = group "\n" t; c++; done[t] = 1 }
                done[s] = 1
                if (c > 1) { cmd = "sort | paste -sd \" \" | sed \"s/ / ⇄ /g\""; printf "%s\n", group | cmd; close(cmd) }
            }
        }' | sort
    }
    # Loops are made of calls: a backend table named by its selector (store.c naming
    # store_sqlite_backend, whose functions use store.c's helpers) is the designed seam, not
    # a loop; such data references still count for the module rules above.
    fn_edges=$(printf '%s\n' "$edges" | awk '$4 == "fn"')
    module_edges=$(printf '%s\n' "$fn_edges" | awk "$module_awk"'NF == 4 { print module_of($1), module_of($2) }')
    module_loops=$(printf '%s\n' "$module_edges" | loops_of)
    report "$([ -z "$module_loops" ] && echo 0 || echo 1)" "no two modules call each other in a loop" "$module_loops"

    file_loops=$(printf '%s\n' "$fn_edges" | loops_of)
    # With each loop, the calls that make it (from → to: functions).
    detail=$(printf '%s\n' "$file_loops" | while IFS= read -r loop; do
        [ -n "$loop" ] || continue
        echo "$loop"
        printf '%s\n' "$fn_edges" | awk -v loop="$loop" '
            BEGIN { k = split(loop, m, " ⇄ "); for (i = 1; i <= k; i++) in_loop[m[i]] = 1 }
            NF == 4 && in_loop[$1] && in_loop[$2] { fn[$1 " → " $2] = fn[$1 " → " $2] (fn[$1 " → " $2] ? ", " : "") $3 }
            END { for (e in fn) print "  " e ": " fn[e] }' | sort
    done)
    report "$([ -z "$file_loops" ] && echo 0 || echo 1)" "no two files call each other in a loop" "$detail"
fi
report "$([ -z "$base_libs" ] && echo 0 || echo 1)" "base uses only the C library, libuv and OpenSSL" "$base_libs"

echo "1..$n"
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
