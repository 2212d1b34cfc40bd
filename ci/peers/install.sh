# Installing the peers into the cache (sourced by ci/peers.sh and ci/clients.sh).
# Needs: CACHE (the cache folder), PEERS_DIR (ci/peers), and the functions log and warn.
# shellcheck shell=bash

APT_UPDATED=0
apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { warn "need root (or sudo) to apt-get install $*"; return 1; }
    sudo=(sudo -n)
  fi
  log "apt-get install $*"
  if [ "$APT_UPDATED" = 0 ]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# install_node_ws [PEER]: PEER is node-ws (the default) or node-ws-bufferutil (the same ws with its optional
# native addon bufferutil); each has its own package.json and lock in ci/peers/ and its own folder in the cache.
install_node_ws() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm || return 1; fi
  local peer="${1:-node-ws}"
  local dir="$CACHE/$peer" src="$PEERS_DIR/$peer"
  if ! cmp -s "$src/package-lock.json" "$dir/.installed-lock"; then
    log "$peer: npm ci into $dir"
    mkdir -p "$dir" && cp "$src/package.json" "$src/package-lock.json" "$dir/" || return 1
    if ! npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1; then
      cat "$dir/npm.log" >&2; return 1
    fi
    cp "$src/package-lock.json" "$dir/.installed-lock"
  fi
}

install_python_websockets() {
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv || return 1
  local venv="$CACHE/python-websockets-venv" req="$PEERS_DIR/python-websockets/requirements.txt"
  if ! cmp -s "$req" "$venv/.installed-requirements"; then
    log "python-websockets: pip install into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" || return 1
    cp "$req" "$venv/.installed-requirements"
  fi
}

php_ok() { php -r 'exit(function_exists("socket_create") && function_exists("stream_socket_server") ? 0 : 1);' 2>/dev/null; }
install_php() {
  if ! command -v php >/dev/null || ! php_ok; then apt_install php-cli || return 1; fi
  php_ok || { warn "php lacks the sockets extension"; return 1; }
}

install_peer() {
  case "$1" in
    node-ws) install_node_ws ;;
    python-websockets) install_python_websockets ;;
    php-seed-*) install_php ;;
  esac
}
