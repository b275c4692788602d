_stt_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _STT_COMPLETE=complete_bash $1 ) )
    COMPREPLY=( "${COMPREPLY[@]/#\#/\\#}" )
    return 0
}

complete -o default -F _stt_completion stt
