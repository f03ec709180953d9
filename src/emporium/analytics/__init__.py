"""The back office's figures and reports, read from the orders, the payment ledger, carts and accounts.

What counts, exactly (the property test in tests/analytics recomputes each from these sentences):

- **A sale** is an order that has been invoiced and is not cancelled. An order is invoiced when it is
  confirmed (its payment captured, or staff confirming a cash-on-delivery order) or its payment recorded
  (orders/invoicing.py), so a pending order (an unpaid online order, a transfer or cash-on-delivery order
  staff have not confirmed) is not a sale yet, and an order cancelled before any money was taken never is.
  An order cancelled after its payment was captured is refunded by the payments domain and moves to
  ``refunded`` (or ``partially_refunded``): it stays a sale, and its refund is subtracted (below).
- **Gross sales** are the totals of the sales *placed* in a period (goods after discounts, shipping and
  tax, as charged), dated by when the order was placed.
- **Refunds** are the succeeded refund transactions of the payment ledger on sales, dated by when the
  refund was made: a refund lowers the revenue of the period it happens in, never a closed one.
- **Revenue** (net sales) is gross sales minus refunds, to the minor unit. It can be negative for a
  period with more money given back than taken.
- **Orders** is the number of sales placed; the **average order value** is gross sales divided by orders,
  rounded half to even to the minor unit (none without orders).
- **A customer** is an account, or, for guest orders, the e-mail address the order was placed with. A
  **new customer** of a period placed their first sale ever in it; a **returning** one had bought before.
- **Carts created** counts the carts whose row was made in the period; **conversion** is orders divided by
  carts created. Carts are kept by the cart domain as it needs them: a customer's cart is reused after an
  order, and carts idle past their lifetime (``EMPORIUM_CART_GUEST_TTL_DAYS``, ``_USER_TTL_DAYS``) are
  deleted, so for periods reaching further back than the guest cart lifetime the figure reads high: compare
  it between periods of the same length, as the home page does.
- **Abandoned carts** are carts still holding items whose last change fell in the period and is more than
  ``ABANDONED_AFTER`` (one hour) ago: after an order its cart is emptied, so these never became orders.
- **Product and category sales** are the line totals of sales (after the line's discount, with tax as
  charged, without shipping), by the product's category now.
- Amounts are in the shop's currency (``EMPORIUM_CURRENCY``): the shop sells in one.

Days, weeks (Monday first) and months begin at midnight in the shop's time zone (``EMPORIUM_TIMEZONE``);
``periods.py`` does that arithmetic, and every figure is one SQL statement whatever the range.
"""
