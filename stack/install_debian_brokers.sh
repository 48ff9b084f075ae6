#!/bin/sh
# Install the Debian packages of the Amazon MQ stand-ins (rabbitmq-server, activemq).
#
# Runs apt-get only when a package is missing and the script runs as root. While
# apt-get runs, /usr/sbin/policy-rc.d exits 101, so the packages' maintainer scripts
# do not start the system-wide services (which would listen on all interfaces).
# Any policy-rc.d that was there before is put back afterwards.
set -eu

PACKAGES="rabbitmq-server activemq"
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=/usr/sbin/policy-rc.d.msgload-backup

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "install_debian_brokers: $PACKAGES already installed, nothing to do"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_debian_brokers: missing packages:$missing. Run this script as root to install them." >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_debian_brokers: missing packages:$missing. apt-get was not found, so install them by hand." >&2
    exit 1
fi

restore_policy() {
    if [ -e "$POLICY_BACKUP" ]; then
        mv -f "$POLICY_BACKUP" "$POLICY"
    else
        rm -f "$POLICY"
    fi
}

if [ -e "$POLICY" ]; then
    cp -p "$POLICY" "$POLICY_BACKUP"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# Written by msgload install_debian_brokers.sh while apt-get runs.\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

started_s=$(date +%s)
echo "install_debian_brokers: installing$missing"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
echo "install_debian_brokers: installed$missing in $(( $(date +%s) - started_s )) s"
