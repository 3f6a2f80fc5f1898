# Bad input: commands, global flags and machine names. Sourced by test_bad_input.sh.
bad "unknown command" 1 "is not a dmachine command" dm frobnicate
bad "unknown global flag" 1 "flag provided but not defined: --frob" dm --frob ls
bad "missing machine" 1 'Docker machine "nosuch" does not exist' dm ip nosuch
bad "invalid name at create" 1 "Invalid hostname specified" dm create -d local 'bad_name'
bad "existing name at create" 1 'Docker machine "run1" already exists' dm create -d local run1
bad "--tls-ca-cert of another CA" 1 "dmachine uses the certificates of its store" dm --tls-ca-cert /etc/ssl/certs/ca-certificates.crt ls
bad "MACHINE_TLS_CLIENT_KEY of another key" 1 "--tls-client-key /nonexistent/key.pem (or its \$MACHINE_TLS_* variable)" env MACHINE_TLS_CLIENT_KEY=/nonexistent/key.pem "$DMACHINE" ls
