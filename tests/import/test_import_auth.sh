#!/usr/bin/env bash
# Authentication for real: the registry's own token auth (:5001, RS256 tokens from
# the token server, anonymous pull except under private/) and htpasswd basic auth
# (:5002). Credentials come from the netrc-like file, which must be mode 0600; USER@
# picks the login; every refusal is one line naming the image and registry.
source "$(dirname "$0")/lib.sh"

fill() {
  mkdir -p "$ROOTFS/etc"
  echo "auth test $RANDOM" >"$ROOTFS/etc/hello"
}
layout=$(new_layout auth)
add_layer "$layout" fill
push "$layout" "$NS/public:v1"
push "$layout" "private/$NS/app:v1"
TOKEN=$TESTREGISTRY_TOKEN
BASIC=$TESTREGISTRY_BASIC
CREDS=$WORK/home/.config/hpclaunch/credentials
mkdir -p "$(dirname "$CREDS")"
chown -R "$TEST_USER" "$WORK/home/.config"

write_creds() {  # MODE CONTENT
  printf '%s\n' "$2" >"$CREDS"
  chown "$TEST_USER" "$CREDS"
  chmod "$1" "$CREDS"
}
token_log_has() { grep -q "$1" "$TESTREGISTRY_TOKEN_LOG"; }

# Bearer, anonymous: the registry's challenge names realm, service and scope.
hl_import --insecure "docker://$TOKEN/$NS/public:v1" -o public.sqsh 2>/dev/null || fail "anonymous token pull failed"
expect_same_tree "$layout" "$WORK/out/public.sqsh"
token_log_has "\"user\": null, \"scope\": \[\"repository:$NS/public:pull\"\]" || fail "no anonymous token request logged"

expect_error "127.0.0.1:5001 requires credentials for image private/$NS/app:v1: its token service http://127.0.0.1:5003/token refused anonymous access (401 UNAUTHORIZED: authentication required); add \`machine 127.0.0.1:5001 login USER password PASS\` to $CREDS (mode 0600)" \
  --insecure "docker://$TOKEN/private/$NS/app:v1"

# The credentials file must not be readable by others.
write_creds 644 "machine $TOKEN login $TESTREGISTRY_TOKEN_USER password $TESTREGISTRY_TOKEN_PASSWORD"
expect_error "credentials file \`$CREDS\` can be read by others (mode 0644); it holds passwords; chmod 600 $CREDS" \
  --insecure "docker://$TOKEN/private/$NS/app:v1"

write_creds 600 "machine $TOKEN login $TESTREGISTRY_TOKEN_USER password $TESTREGISTRY_TOKEN_PASSWORD"
rm -rf "$CACHE"  # blobs too must come through the token
hl_import --insecure "docker://$TOKEN/private/$NS/app:v1" -o private.sqsh 2>/dev/null || fail "token pull with credentials failed"
expect_same_tree "$layout" "$WORK/out/private.sqsh"
token_log_has "\"user\": \"$TESTREGISTRY_TOKEN_USER\", \"scope\": \[\"repository:private/$NS/app:pull\"\]" ||
  fail "no token request with the user logged"

write_creds 600 "machine $TOKEN login $TESTREGISTRY_TOKEN_USER password wrong"
expect_error "the token service http://127.0.0.1:5003/token refused the credentials of $TESTREGISTRY_TOKEN_USER for image private/$NS/app:v1" \
  --insecure "docker://$TOKEN/private/$NS/app:v1"

# Basic auth.
write_creds 600 ""
expect_error "127.0.0.1:5002 requires credentials for image $NS/public:v1 (401, basic auth); add \`machine 127.0.0.1:5002 login USER password PASS\` to $CREDS (mode 0600)" \
  --insecure "docker://$BASIC/$NS/public:v1"
write_creds 600 "machine $BASIC login someone password nope
machine 127.0.0.1 login $TESTREGISTRY_BASIC_USER password $TESTREGISTRY_BASIC_PASSWORD"
expect_error "127.0.0.1:5002 refused the credentials of someone for image $NS/public:v1 (401 UNAUTHORIZED: authentication required)" \
  --insecure "docker://$BASIC/$NS/public:v1"
# USER@ picks the login (the host-only entry covers every port).
rm -rf "$CACHE"
hl_import --insecure "docker://$TESTREGISTRY_BASIC_USER@$BASIC/$NS/public:v1" -o basic.sqsh 2>/dev/null ||
  fail "basic auth with USER@ failed"
expect_same_tree "$layout" "$WORK/out/basic.sqsh"
hl_import --insecure "docker://$TESTREGISTRY_BASIC_USER@$BASIC#$NS/public:v1" -o basic2.sqsh 2>/dev/null ||
  fail "basic auth with USER@REGISTRY# failed"
expect_error "no password for nobody@127.0.0.1:5002 in the credentials file \`$CREDS\`" \
  --insecure "docker://nobody@$BASIC/$NS/public:v1"

# --credentials names another file; a missing named file is an error.
other=$WORK/home/other-creds
printf 'machine %s login %s password %s\n' "$BASIC" "$TESTREGISTRY_BASIC_USER" "$TESTREGISTRY_BASIC_PASSWORD" >"$other"
chown "$TEST_USER" "$other"
chmod 600 "$other"
write_creds 600 ""
hl_import --insecure --credentials "$other" "docker://$BASIC/$NS/public:v1" -o basic3.sqsh 2>/dev/null ||
  fail "--credentials FILE failed"
expect_error "open credentials file \`$WORK/home/missing\`: No such file or directory" \
  --insecure --credentials "$WORK/home/missing" "docker://$BASIC/$NS/public:v1"
echo "PASS"
