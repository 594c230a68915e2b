/* optim_options.c: parsing the optimizer and scheduler options. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "optim_options.h"

static const char *const scheduler_names[] = {"constant", "cosine",  "step",  "exponential",
                                              "restarts", "plateau", "greedy"};

int porta_cli_scheduler_kind(const char *name)
{
    for (int k = 0; k < (int)(sizeof scheduler_names / sizeof *scheduler_names); k++)
        if (name && strcmp(name, scheduler_names[k]) == 0)
            return k;
    return -1;
}

const char *porta_cli_scheduler_name(porta_scheduler_kind kind)
{
    const int k = (int)kind;
    return k >= 0 && k < (int)(sizeof scheduler_names / sizeof *scheduler_names)
               ? scheduler_names[k]
               : "?";
}

int porta_cli_parse_float(const char *s, float *out)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(s, &end);
    if (!*s || *end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int porta_cli_parse_int(const char *s, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno == ERANGE || v < -2147483647L || v > 2147483647L)
        return -1;
    *out = (int)v;
    return 0;
}

typedef enum { FLOAT_OPT, INT_OPT, WORD_OPT } value_kind;

typedef struct option_spec {
    const char *name;
    bool training_only;
    value_kind kind;
} option_spec;

/* Where an option's value goes. */
static void *target(const char *name, porta_optimizer_config *o, porta_scheduler_config *s)
{
    porta_param_group *g = &o->groups[0];
    const struct {
        const char *name;
        void *at;
    } map[] = {
        {"--lr", &g->lr},
        {"--min-lr", &g->min_lr},
        {"--max-lr", &g->max_lr},
        {"--weight-decay", &g->weight_decay},
        {"--factor", &s->factor},
        {"--threshold", &s->threshold},
        {"--eps", &s->eps},
        {"--patience", &s->patience},
        {"--cooldown", &s->cooldown},
        {"--warmup", &s->warmup},
        {"--window", &s->window},
        {"--reset-start", &s->reset_start},
        {"--mode", &s->mode},
        {"--threshold-mode", &s->threshold_mode},
        {"--momentum", &o->momentum},
        {"--beta1", &o->beta1},
        {"--beta2", &o->beta2},
        {"--adam-eps", &o->eps},
        {"--clip", &o->clip_norm},
        {"--warmup-steps", &s->warmup_steps},
        {"--total-steps", &s->total_steps},
        {"--step-size", &s->step_size},
        {"--gamma", &s->gamma},
        {"--t0", &s->t_0},
        {"--t-mult", &s->t_mult},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].name, name) == 0)
            return map[i].at;
    return NULL;
}

static const option_spec options[] = {
    {"--lr", false, FLOAT_OPT},
    {"--min-lr", false, FLOAT_OPT},
    {"--max-lr", false, FLOAT_OPT},
    {"--factor", false, FLOAT_OPT},
    {"--threshold", false, FLOAT_OPT},
    {"--eps", false, FLOAT_OPT},
    {"--patience", false, INT_OPT},
    {"--cooldown", false, INT_OPT},
    {"--warmup", false, INT_OPT},
    {"--window", false, INT_OPT},
    {"--reset-start", false, INT_OPT},
    {"--mode", false, WORD_OPT},
    {"--threshold-mode", false, WORD_OPT},
    {"--weight-decay", true, FLOAT_OPT},
    {"--momentum", true, FLOAT_OPT},
    {"--beta1", true, FLOAT_OPT},
    {"--beta2", true, FLOAT_OPT},
    {"--adam-eps", true, FLOAT_OPT},
    {"--clip", true, FLOAT_OPT},
    {"--warmup-steps", true, INT_OPT},
    {"--total-steps", true, INT_OPT},
    {"--step-size", true, INT_OPT},
    {"--gamma", true, FLOAT_OPT},
    {"--t0", true, INT_OPT},
    {"--t-mult", true, INT_OPT},
};

/* --optimizer / --scheduler: new defaults, the group rates kept. */
static porta_cli_option_result set_kind(const char *name, const char *value,
                                        porta_optimizer_config *o, porta_scheduler_config *s)
{
    const porta_param_group group = o->groups[0];
    if (strcmp(name, "--optimizer") == 0) {
        if (strcmp(value, "sgd") != 0 && strcmp(value, "adamw") != 0)
            return PORTA_CLI_BAD_VALUE;
        *o = porta_optimizer_config_default(strcmp(value, "sgd") == 0 ? PORTA_OPTIMIZER_SGD
                                                                      : PORTA_OPTIMIZER_ADAMW);
        o->groups[0] = group;
        return PORTA_CLI_VALUE;
    }
    const int kind = porta_cli_scheduler_kind(value);
    if (kind < 0)
        return PORTA_CLI_BAD_VALUE;
    const bool observe_eval = s->observe_eval;
    *s = porta_scheduler_config_default((porta_scheduler_kind)kind);
    s->observe_eval = observe_eval;
    return PORTA_CLI_VALUE;
}

porta_cli_option_result porta_cli_optim_option(const char *name, const char *value, bool training,
                                               porta_optimizer_config *opt,
                                               porta_scheduler_config *sched)
{
    if (strcmp(name, "--smooth") == 0) {
        sched->smooth = true;
        return PORTA_CLI_FLAG;
    }
    if (training && strcmp(name, "--nesterov") == 0) {
        opt->nesterov = true;
        return PORTA_CLI_FLAG;
    }
    if (training && strcmp(name, "--observe-eval") == 0) {
        sched->observe_eval = true;
        return PORTA_CLI_FLAG;
    }
    if (training && (strcmp(name, "--optimizer") == 0 || strcmp(name, "--scheduler") == 0))
        return value ? set_kind(name, value, opt, sched) : PORTA_CLI_NO_VALUE;
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        if (strcmp(options[i].name, name) != 0 || (options[i].training_only && !training))
            continue;
        if (!value)
            return PORTA_CLI_NO_VALUE;
        void *at = target(name, opt, sched);
        int bad = 0;
        if (options[i].kind == FLOAT_OPT)
            bad = porta_cli_parse_float(value, at);
        else if (options[i].kind == INT_OPT)
            bad = porta_cli_parse_int(value, at);
        else
            *(const char **)at = value;
        return bad ? PORTA_CLI_BAD_VALUE : PORTA_CLI_VALUE;
    }
    return PORTA_CLI_NOT_MINE;
}

const char *porta_cli_optim_usage(bool training)
{
    static const char common[] =
        "  --lr X              initial learning rate\n"
        "  --mode min|max      lower or higher metric is better (min)\n"
        "  --factor F          decrease lr*F, increase lr/F, 0 < F < 1 (0.95)\n"
        "  --patience N        act on the (N+1)-th good or bad step (10)\n"
        "  --threshold X       improvement margin (1e-6)\n"
        "  --threshold-mode abs|rel (abs)\n"
        "  --cooldown N        steps frozen after a decrease (0)\n"
        "  --warmup N          steps frozen after an increase (0)\n"
        "  --min-lr X          floor\n"
        "  --max-lr X          ceiling\n"
        "  --eps X             smallest change applied (1e-8)\n"
        "  --smooth            compare a rolling mean of the metric\n"
        "  --window N          rolling-mean window (50)\n"
        "  --reset-start N     decreases at the floor before a reset (500)\n";
    static const char all[] =
        "  --optimizer sgd|adamw   (give before the options it governs)\n"
        "  --scheduler greedy|cosine|constant|step|exponential|plateau|restarts\n"
        "  --lr X              initial learning rate\n"
        "  --weight-decay X    decoupled (AdamW) or L2 (SGD) weight decay of weights\n"
        "  --momentum X  --nesterov  --beta1 X  --beta2 X  --adam-eps X\n"
        "  --clip X            clip the global gradient norm (0: off)\n"
        "  --min-lr X  --max-lr X   bounds of the rate (GreedyLR, plateau, cosine floor)\n"
        "  GreedyLR / plateau: --mode min|max --factor F --patience N --threshold X\n"
        "      --threshold-mode abs|rel --cooldown N --warmup N --eps X --smooth\n"
        "      --window N --reset-start N --observe-eval (step on evaluations only)\n"
        "  cosine: --warmup-steps N --total-steps N (default: the whole run)\n"
        "  step: --step-size N --gamma X   exponential: --gamma X   restarts: --t0 N --t-mult N\n";
    return training ? all : common;
}
