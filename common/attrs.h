/*
 * attrs.h - compiler annotations every module may use.
 *
 * CONSENT_MUST_CHECK marks a function whose result must not be ignored: a
 * status that says whether the work was done (a header that did not fit, a
 * write Redis refused). GCC and clang then warn at any call that drops it,
 * and -Werror makes that a build failure. GCC warns even through a (void)
 * cast, so it goes only on results that no caller may ignore.
 */
#ifndef CONSENT_ATTRS_H
#define CONSENT_ATTRS_H

#define CONSENT_MUST_CHECK __attribute__((warn_unused_result))

#endif
