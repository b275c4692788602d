#compdef stt

_stt_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _STT_COMPLETE=complete_zsh stt)
}

compdef _stt_completion stt
