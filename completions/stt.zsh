#compdef stt

_stt_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _STT_COMPLETE=complete_zsh stt)
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _stt_completion "$@"
else
  compdef _stt_completion stt
fi
