# Bad input: provision, regenerate-certs, upgrade and the generic driver's engine
# settings. Sourced by test_bad_input.sh (run1 running without an engine, stop1
# stopped; the store has no CA: no machine was provisioned).
bad "regenerate-certs of a missing machine (asked nothing)" 1 'Docker machine "nosuch" does not exist' \
  "$DMACHINE" regenerate-certs nosuch
bad "regenerate-certs -f of a missing machine" 1 'Docker machine "nosuch" does not exist' \
  "$DMACHINE" regenerate-certs -f nosuch
bad "regenerate-certs of one missing machine among others" 1 'Docker machine "nosuch" does not exist' \
  "$DMACHINE" regenerate-certs -f run1 nosuch
bad "regenerate-certs without a name and no default" 1 'No machine name(s) specified' \
  "$DMACHINE" regenerate-certs -f
bad "regenerate-certs with the store's CA missing" 1 "the store's CA" \
  "$DMACHINE" regenerate-certs -f run1
bad "regenerate-certs with the CA missing names --client-certs" 1 "regenerate-certs --client-certs" \
  "$DMACHINE" regenerate-certs -f run1
bad "regenerate-certs --client-certs answered n" 1 "Aborted: no certificates were changed" \
  sh -c 'echo n | "$DMACHINE" regenerate-certs --client-certs run1'
bad "regenerate-certs --client-certs answered EOF" 1 "Aborted: no certificates were changed" \
  sh -c '"$DMACHINE" regenerate-certs --client-certs run1 </dev/null'
bad "regenerate-certs --client-certs answered with junk" 1 "Aborted" \
  sh -c 'echo maybe | "$DMACHINE" regenerate-certs --client-certs run1'
bad "regenerate-certs --client-certs of a stopped machine" 1 "Host is not running" \
  "$DMACHINE" regenerate-certs -f --client-certs run1 stop1
bad "regenerate-certs with an unknown flag" 1 "" "$DMACHINE" regenerate-certs --frob run1
bad "provision of a missing machine" 1 'Docker machine "nosuch" does not exist' "$DMACHINE" provision nosuch
bad "provision of a stopped machine" 1 "Host is not running" "$DMACHINE" provision stop1
bad "upgrade of a missing machine" 1 'Docker machine "nosuch" does not exist' "$DMACHINE" upgrade nosuch
bad "upgrade of one missing machine among others" 1 'Docker machine "nosuch" does not exist' \
  "$DMACHINE" upgrade run1 nosuch
