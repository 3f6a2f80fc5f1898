# Makes a large `ls` store from one real generic machine: copies of its record
# (with its key and certificates) under new names, some pointed at addresses of
# the local subnet that no machine has. Sourced by tests/e2e/test_ls_scale.sh and
# bench/bench_ls.sh, with MACHINE_STORAGE_PATH, LOCAL_SUBNET and LOCAL_BRIDGE set.

# The first three octets of LOCAL_SUBNET (a /24): "10.213.107".
ls_subnet_base() { printf '%s\n' "${LOCAL_SUBNET%.*/*}"; }

# ls_unanswering_ip N: the Nth address nothing answers (from .230 up), N in 1..25.
ls_unanswering_ip() { printf '%s.%d\n' "$(ls_subnet_base)" $((229 + $1)); }

# Refuses (exit 1) unless every unanswering address routes to our own bridge and
# no machine has it: probing them must never send a packet off this computer.
ls_check_unanswering() { # count
  local i ip
  for i in $(seq 1 "$1"); do
    ip=$(ls_unanswering_ip "$i")
    if ! ip route get "$ip" | grep -q "dev $LOCAL_BRIDGE "; then
      echo "ls_store: $ip does not route to $LOCAL_BRIDGE; refusing to use it" >&2
      return 1
    fi
    if grep -rqs "\"IPAddress\": *\"$ip\"" "$MACHINE_STORAGE_PATH"/machines/*/config.json; then
      echo "ls_store: a machine already has $ip" >&2
      return 1
    fi
  done
}

# ls_copy_record SRC NAME [IP]: machines/NAME as a copy of machines/SRC (a generic
# machine), every path and name rewritten, pointed at IP when given.
ls_copy_record() {
  local src=$1 name=$2 ip=${3:-} dir=$MACHINE_STORAGE_PATH/machines
  cp -a "$dir/$src" "$dir/$name" || return 1
  jq --arg src "$src" --arg name "$name" --arg ip "$ip" '
    walk(if type == "string" then gsub("/machines/" + $src + "(?<end>/|$)"; "/machines/" + $name + .end) else . end)
    | .Name = $name | .Driver.MachineName = $name
    | if $ip != "" then .Driver.IPAddress = $ip else . end' \
    "$dir/$src/config.json" >"$dir/$name/config.json" || return 1
}

# ls_make_store SRC COPIES UNANSWERING: SRC plus COPIES-1 copies named g01.. (so
# COPIES generic records reach the machine) and u01.. at unanswering addresses.
ls_make_store() {
  local src=$1 copies=$2 unanswering=$3 i
  ls_check_unanswering "$unanswering" || return 1
  for i in $(seq 1 $((copies - 1))); do
    ls_copy_record "$src" "$(printf 'g%02d' "$i")" || return 1
  done
  for i in $(seq 1 "$unanswering"); do
    ls_copy_record "$src" "$(printf 'u%02d' "$i")" "$(ls_unanswering_ip "$i")" || return 1
  done
}
