/* optim_options.h: the command-line options that configure an optimizer
 * and its learning-rate schedule, shared by porta-greedylr and
 * porta-train, so both read --lr, --factor, --patience... the same way. */
#ifndef PORTA_OPTIM_OPTIONS_H
#define PORTA_OPTIM_OPTIONS_H

#include <stdbool.h>

#include "porta/porta.h"

/* What porta_cli_optim_option() did with an argument. */
typedef enum porta_cli_option_result {
    PORTA_CLI_NOT_MINE = 0,   /* not one of these options */
    PORTA_CLI_FLAG = 1,       /* a flag: consumed the name only */
    PORTA_CLI_VALUE = 2,      /* consumed the name and `value` */
    PORTA_CLI_BAD_VALUE = -1, /* `value` is not a valid number / word */
    PORTA_CLI_NO_VALUE = -2   /* the option needs a value and none followed */
} porta_cli_option_result;

/* The scheduler options of porta-greedylr: --lr --min-lr --max-lr --factor
 * --threshold --eps --patience --cooldown --warmup --window --reset-start
 * --mode --threshold-mode --smooth. With `training` also --optimizer
 * sgd|adamw, --scheduler NAME, --weight-decay --momentum --nesterov
 * --beta1 --beta2 --adam-eps --clip --warmup-steps --total-steps
 * --step-size --gamma --t0 --t-mult --observe-eval. value may be NULL
 * (the last argument). --optimizer and --scheduler reset their config to
 * the defaults of the new kind (keeping the group rates), so give them
 * before the options they govern. */
porta_cli_option_result porta_cli_optim_option(const char *name, const char *value, bool training,
                                               porta_optimizer_config *opt,
                                               porta_scheduler_config *sched);

/* Parse a whole argument as a number (surrounding junk, overflow: -1). */
int porta_cli_parse_float(const char *s, float *out);
int porta_cli_parse_int(const char *s, int *out);

/* The usage lines of the options above (training: all of them). */
const char *porta_cli_optim_usage(bool training);

/* A scheduler kind from its command-line name (greedy, cosine, constant,
 * step, exponential, plateau, restarts); -1 if none. */
int porta_cli_scheduler_kind(const char *name);

/* The command-line name of a scheduler kind. */
const char *porta_cli_scheduler_name(porta_scheduler_kind kind);

#endif
