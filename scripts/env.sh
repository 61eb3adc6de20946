# Sourced by scripts/run and scripts/test: creates .venv on first use and reinstalls when pyproject.toml changes.
# Needs nothing but python3 (>= 3.11) and a POSIX shell.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.taonet-installed"
want=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$root/pyproject.toml")
if [ ! -x "$venv/bin/python" ]; then
    echo "taonet: creating $venv" >&2
    python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "taonet: installing taonet and its dependencies into $venv (log: $venv/install.log)" >&2
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
           "$venv/bin/python" -m pip install --disable-pip-version-check -e "$root[dev]"; } >"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        echo "taonet: installation failed (see above)" >&2
        exit 1
    fi
    # Byte-compile taonet's own modules once (pip does the dependencies'), so that every later command, and each
    # worker process replay verify starts, reads them compiled even where PYTHONDONTWRITEBYTECODE is set.
    "$venv/bin/python" -m compileall -q -j 0 "$root/ledger" "$root/kernel" "$root/plugins" "$root/subnets" \
        "$root/tools" >>"$venv/install.log" 2>&1 || true
    echo "$want" > "$stamp"
fi
PATH="$venv/bin:$PATH"
export PATH
cd "$root"
