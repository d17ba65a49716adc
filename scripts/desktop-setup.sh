# Sourced by scripts/shim for `scripts/shim desktop-setup`: prints (never runs) the commands that put
# Codex Desktop behind the proxy on one OS. See README, "Point Codex at the proxy".
desktop_setup() {
  local os="" port=8080 confdir="\$HOME/.mitmproxy" shim="$ROOT/scripts/shim"
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --os) os="$2"; shift 2 ;;
      -p|--port) port="$2"; shift 2 ;;
      --confdir) confdir="$2"; shift 2 ;;
      -h|--help) echo "usage: scripts/shim desktop-setup [--os macos|windows|linux] [-p PORT] [--confdir DIR]"; return 0 ;;
      *) echo "desktop-setup: unknown argument $1" >&2; return 2 ;;
    esac
  done
  if [ -z "$os" ]; then
    case "$(uname -s)" in
      Darwin) os=macos ;;
      MINGW*|MSYS*|CYGWIN*) os=windows ;;
      *) os=linux ;;
    esac
  fi
  local proxy="http://127.0.0.1:$port"
  case "$os" in
    macos) cat <<MAC
# Codex Desktop behind codex-shim on macOS. Nothing here was run; read, then paste what you want.
# 1. The proxy, kept running in the background (a launchd job; 'launchctl remove codex-shim' stops it):
launchctl submit -l codex-shim -- "$shim" -p $port
# 2. The system proxy, for the app's own (Chromium) requests: the Statsig allowlist on ab.chatgpt.com.
#    'networksetup -listallnetworkservices' names your services; repeat for each one you use.
networksetup -setsecurewebproxy "Wi-Fi" 127.0.0.1 $port
networksetup -setproxybypassdomains "Wi-Fi" localhost 127.0.0.1 "*.local"
# 3. Trust mitmproxy's CA in the System keychain (Chromium reads the keychain; asks for your password).
sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "$confdir/mitmproxy-ca-cert.pem"
# 4. The app-server Desktop starts (Codex's Rust side: model list and turns) reads the proxy from its
#    environment, not from the system settings (respect_system_proxy is off in Codex 0.171):
launchctl setenv HTTPS_PROXY $proxy
launchctl setenv CODEX_CA_CERTIFICATE "$confdir/mitmproxy-ca-cert.pem"
# 5. A background app-server started before step 4 keeps its old environment: restart it, then quit
#    Codex Desktop completely (Cmd-Q) and open it again.
codex app-server daemon restart
# Undo: networksetup -setsecurewebproxystate "Wi-Fi" off; launchctl unsetenv HTTPS_PROXY;
#       launchctl unsetenv CODEX_CA_CERTIFICATE; launchctl remove codex-shim; codex app-server daemon restart
MAC
      ;;
    windows) cat <<WIN
# Codex Desktop behind codex-shim on Windows (PowerShell). Nothing here was run; read, then paste.
# 1. The proxy, in the background (scripts/shim is a bash script: Git for Windows' bash runs it):
Start-Process -WindowStyle Hidden bash -ArgumentList '"$shim" -p $port'
# 2. The system proxy (WinINET, what the app's Chromium side reads: the Statsig allowlist).
\$key = 'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings'
Set-ItemProperty \$key ProxyServer '127.0.0.1:$port'
Set-ItemProperty \$key ProxyOverride '<local>;localhost;127.0.0.1'
Set-ItemProperty \$key ProxyEnable 1
# 3. Trust mitmproxy's CA for your user (Trusted Root Certification Authorities; Windows asks to confirm).
certutil -user -addstore Root "\$env:USERPROFILE\\.mitmproxy\\mitmproxy-ca-cert.cer"
# 4. The app-server Desktop starts reads the proxy from its environment (respect_system_proxy is off in 0.171):
setx HTTPS_PROXY $proxy
setx CODEX_CA_CERTIFICATE "\$env:USERPROFILE\\.mitmproxy\\mitmproxy-ca-cert.pem"
# 5. New processes see setx values: restart Codex's background app-server, sign out and in (or end
#    every Codex process in Task Manager), then open Codex Desktop.
codex app-server daemon restart
# Undo: Set-ItemProperty \$key ProxyEnable 0; [Environment]::SetEnvironmentVariable('HTTPS_PROXY', \$null, 'User');
#       [Environment]::SetEnvironmentVariable('CODEX_CA_CERTIFICATE', \$null, 'User'); codex app-server daemon restart
WIN
      ;;
    linux) cat <<LIN
# An Electron build of Codex Desktop on Linux behind codex-shim. Nothing here was run; read, then paste.
# 1. The proxy, in the background for this login session ('systemctl --user stop codex-shim' stops it):
systemd-run --user --unit codex-shim "$shim" -p $port
# 2. Trust mitmproxy's CA in NSS (what Chromium/Electron reads on Linux; certutil is in libnss3-tools):
certutil -d sql:\$HOME/.pki/nssdb -A -t "C,," -n codex-shim-mitmproxy -i "$confdir/mitmproxy-ca-cert.pem"
# 3. The system proxy (GNOME; Chromium also honours https_proxy when no desktop setting exists):
gsettings set org.gnome.system.proxy mode manual
gsettings set org.gnome.system.proxy.https host 127.0.0.1
gsettings set org.gnome.system.proxy.https port $port
# 4. Start the app with the app-server's variables (or put them in its .desktop file's Exec=env …):
HTTPS_PROXY=$proxy CODEX_CA_CERTIFICATE="$confdir/mitmproxy-ca-cert.pem" codex-desktop
# 5. A background app-server started earlier keeps its old environment:
HTTPS_PROXY=$proxy CODEX_CA_CERTIFICATE="$confdir/mitmproxy-ca-cert.pem" codex app-server daemon restart
# Undo: gsettings set org.gnome.system.proxy mode none; systemctl --user stop codex-shim
LIN
      ;;
    *) echo "desktop-setup: --os must be macos, windows or linux" >&2; return 2 ;;
  esac
}
