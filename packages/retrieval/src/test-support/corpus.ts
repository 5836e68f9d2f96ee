/** Three small "files" on distinct subjects, each several paragraphs, for search tests. */
export const CORPUS = {
  zoo: {
    filename: 'zoo-guide.md',
    paragraphs: [
      'The city zoo opens at nine in the morning and closes at six in the evening.',
      'Zebras live in the savanna enclosure; keepers feed them hay and grass twice a day.',
      'The penguin colony is fed fresh herring at noon, a popular show for visiting families.',
      'Giraffes can be fed lettuce from the elevated platform between two and four.',
    ],
  },
  billing: {
    filename: 'billing-policy.txt',
    paragraphs: [
      'Invoices are issued on the first business day of each month.',
      'Payment is due within thirty days of the invoice date; late payments incur a two percent fee.',
      'Refunds for annual plans are prorated and returned to the original payment method.',
      'Enterprise customers may request consolidated invoices for all their workspaces.',
    ],
  },
  rocket: {
    filename: 'rocket-manual.pdf',
    paragraphs: [
      'The second stage engine burns liquid oxygen and kerosene for six minutes.',
      'Before launch, technicians verify the telemetry link and pressurise the propellant tanks.',
      'Abort procedures: if chamber pressure drops below nominal, the flight computer shuts the engine down.',
      'The payload fairing separates at an altitude of one hundred kilometres.',
    ],
  },
} as const
